package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A device that loses its chain state starts a new chain; the verifier records it and carries on. */
class ChainRestartTest {
    @TempDir
    Path dir;

    private final Appraiser appraiser = Fixtures.appraiser();

    private Appraisal.Accepted accepted(Appraisal a) {
        return assertInstanceOf(Appraisal.Accepted.class, a, a::toString);
    }

    @Test
    void aNewChainAfterLostStateIsAcceptedAndRecordedAsARestart() throws Exception {
        var keys = DeviceKeys.generate();
        for (int i = 0; i < 3; i++) {
            accepted(appraiser.appraise(new ReportSigner(keys, ChainState.open(dir))
                    .sign(Fixtures.input())
                    .bytes()));
        }
        Files.delete(dir.resolve(ChainState.FILE)); // a new SD card
        var signer = new ReportSigner(keys, ChainState.open(dir));
        var restart = accepted(appraiser.appraise(signer.sign(Fixtures.input()).bytes()));
        assertTrue(restart.chainRestart());
        assertEquals(1, restart.seq());
        assertEquals(0, restart.gap());
        var next = accepted(appraiser.appraise(signer.sign(Fixtures.input()).bytes()));
        assertFalse(next.chainRestart());
        assertEquals(2, next.seq());
        assertEquals(1, appraiser.stats().chainRestarts());
    }

    @Test
    void aLateReportOfTheClosedChainIsAReplay() {
        var keys = DeviceKeys.generate();
        var oldSigner = new ReportSigner(keys, ChainState.inMemory());
        accepted(appraiser.appraise(oldSigner.sign(Fixtures.input()).bytes()));
        byte[] lateOld = oldSigner.sign(Fixtures.input()).bytes();
        accepted(appraiser.appraise(new ReportSigner(keys, ChainState.inMemory())
                .sign(Fixtures.input())
                .bytes()));
        var r = assertInstanceOf(Appraisal.Rejected.class, appraiser.appraise(lateOld));
        assertEquals(ReasonCode.REPLAY, r.reason(), r::toString);
    }

    @Test
    void aReportOfAChainClosedLongAgoCannotSwitchTheDeviceBack() {
        var keys = DeviceKeys.generate();
        var clock = new MutableClock(Fixtures.NOW);
        var appr = new Appraiser(AppraiserConfig.defaults().withClock(clock));
        byte[] ancient = new ReportSigner(keys, ChainState.inMemory())
                .sign(Fixtures.input(clock.instant()))
                .bytes();
        assertInstanceOf(Appraisal.Accepted.class, appr.appraise(ancient));
        // More restarts than the verifier remembers closed chains, each a minute later.
        ReportSigner current = null;
        for (int i = 0; i <= Appraiser.CLOSED_CHAINS_KEPT; i++) {
            clock.advance(java.time.Duration.ofMinutes(1));
            current = new ReportSigner(keys, ChainState.inMemory());
            assertTrue(accepted(appr.appraise(
                            current.sign(Fixtures.input(clock.instant())).bytes()))
                    .chainRestart());
        }
        var r = assertInstanceOf(Appraisal.Rejected.class, appr.appraise(ancient));
        assertEquals(ReasonCode.REPLAY, r.reason(), r::toString);
        accepted(appr.appraise(current.sign(Fixtures.input(clock.instant())).bytes()));
    }

    @Test
    void aNewChainWhoseFirstReportWasLostIsARestartWithAGap() {
        var keys = DeviceKeys.generate();
        accepted(appraiser.appraise(new ReportSigner(keys, ChainState.inMemory())
                .sign(Fixtures.input())
                .bytes()));
        var fresh = new ReportSigner(keys, ChainState.inMemory());
        fresh.sign(Fixtures.input()); // lost: killed after persisting, before sending
        var second = accepted(appraiser.appraise(fresh.sign(Fixtures.input()).bytes()));
        assertTrue(second.chainRestart());
        assertEquals(1, second.gap());
    }

    @Test
    void aKillBetweenPersistingAndSendingShowsAsAGapNeverAReusedSeq() throws Exception {
        var keys = DeviceKeys.generate();
        accepted(appraiser.appraise(new ReportSigner(keys, ChainState.open(dir))
                .sign(Fixtures.input())
                .bytes()));
        new ReportSigner(keys, ChainState.open(dir)).sign(Fixtures.input()); // signed, persisted, never sent
        var after = accepted(appraiser.appraise(new ReportSigner(keys, ChainState.open(dir))
                .sign(Fixtures.input())
                .bytes()));
        assertEquals(3, after.seq());
        assertEquals(1, after.gap());
    }

    @Test
    void aVerifierThatStartsLateAcceptsTheDeviceFromWhereItIs() {
        var signer = Fixtures.signer();
        for (int i = 0; i < 5; i++) {
            signer.sign(Fixtures.input());
        }
        var a = accepted(appraiser.appraise(signer.sign(Fixtures.input()).bytes()));
        assertEquals(6, a.seq());
        assertFalse(a.chainRestart());
        assertEquals(0, a.gap());
    }

    @Test
    void aSeqOlderThanTheRememberedWindowIsAReplay() {
        var signer = Fixtures.signer();
        byte[] first = signer.sign(Fixtures.input()).bytes();
        byte[] second = signer.sign(Fixtures.input()).bytes();
        accepted(appraiser.appraise(first));
        for (int i = 0; i < Limits.DUPLICATE_WINDOW + 1; i++) {
            signer.sign(Fixtures.input());
        }
        accepted(appraiser.appraise(signer.sign(Fixtures.input()).bytes()));
        var r = assertInstanceOf(Appraisal.Rejected.class, appraiser.appraise(second));
        assertEquals(ReasonCode.REPLAY, r.reason(), r::toString);
    }

    @Test
    void aLateReportThatDoesNotFitItsSuccessorBreaksTheChain() {
        var keys = DeviceKeys.generate();
        var state = ChainState.inMemory();
        var signer = new ReportSigner(keys, state);
        accepted(appraiser.appraise(signer.sign(Fixtures.input()).bytes()));
        var realSecond = signer.sign(Fixtures.input());
        accepted(appraiser.appraise(signer.sign(Fixtures.input()).bytes())); // seq 3, gap 1
        // A different seq 2 (validly signed, same prev) is not the one seq 3 points at.
        var c = realSecond.claims();
        var other = new Claims(
                c.device(),
                c.key(),
                c.fleet(),
                c.seq(),
                c.prev(),
                c.chain(),
                c.iat(),
                c.epoch() + 1,
                c.nonce(),
                c.bootId(),
                c.uptime(),
                c.measurements(),
                c.softwareVersion(),
                c.configHash(),
                c.restart(),
                c.rotations());
        var r = assertInstanceOf(
                Appraisal.Rejected.class,
                appraiser.appraise(CoseSign1.sign(keys.deviceId().kid(), other.encode(), keys)));
        assertEquals(ReasonCode.CHAIN_BREAK, r.reason(), r::toString);
        accepted(appraiser.appraise(realSecond.bytes()));
    }

    @Test
    void theSameReportAppraisedConcurrentlyIsAcceptedOnceAndOtherwiseDuplicate() throws Exception {
        for (int round = 0; round < 20; round++) {
            var appr = Fixtures.appraiser();
            byte[] report = Fixtures.signer().sign(Fixtures.input()).bytes();
            var outcomes = new ConcurrentLinkedQueue<Appraisal>();
            var start = new CountDownLatch(1);
            var threads = new Thread[4];
            for (int t = 0; t < threads.length; t++) {
                threads[t] = new Thread(() -> {
                    try {
                        start.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    outcomes.add(appr.appraise(report));
                });
                threads[t].start();
            }
            start.countDown();
            for (var t : threads) {
                t.join();
            }
            assertEquals(
                    1,
                    outcomes.stream()
                            .filter(a -> a instanceof Appraisal.Accepted acc && !acc.duplicate())
                            .count());
            assertEquals(
                    3,
                    outcomes.stream()
                            .filter(a -> a instanceof Appraisal.Accepted acc && acc.duplicate())
                            .count());
            assertEquals(1, appr.stats().accepted());
        }
    }
}
