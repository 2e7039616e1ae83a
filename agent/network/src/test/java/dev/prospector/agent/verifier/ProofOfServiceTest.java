package dev.prospector.agent.verifier;

import static dev.prospector.agent.verifier.PosFixtures.T0;
import static dev.prospector.agent.verifier.PosFixtures.nonce;
import static dev.prospector.agent.verifier.PosFixtures.receipt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.common.Failure;
import dev.prospector.agent.common.StorageFailure;
import dev.prospector.agent.verifier.PosFixtures.Board;
import dev.prospector.agent.verifier.PosFixtures.MovableClock;
import dev.prospector.attest.Appraisal;
import dev.prospector.attest.AuditAnswer;
import dev.prospector.attest.BandwidthReceipt.Direction;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.MeasurementClaim;
import dev.prospector.attest.PlotCommitment;
import dev.prospector.attest.PlotParams;
import dev.prospector.attest.Receipt;
import dev.prospector.ledger.Address;
import dev.prospector.ledger.BlockValidator;
import dev.prospector.ledger.BlockVerdict;
import dev.prospector.ledger.Chain;
import dev.prospector.ledger.ChainBuilder;
import dev.prospector.ledger.Genesis;
import dev.prospector.ledger.Keys;
import dev.prospector.ledger.LedgerParams;
import dev.prospector.ledger.SequentialBlockExecutor;
import dev.prospector.ledger.Tx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proofs of service as the verifier judges them: audit outcomes and reputation, bandwidth
 * receipts, uptime, epochs and rewards, state across restarts. Time is a clock the test moves.
 */
class ProofOfServiceTest {
    private static final Duration TTL = Duration.ofMinutes(10);
    private static final DeviceKeys ENDPOINT_A = DeviceKeys.generate();
    private static final DeviceKeys ENDPOINT_B = DeviceKeys.generate();
    private static final DeviceKeys ENDPOINT_C = DeviceKeys.generate();
    private static final DeviceKeys STRANGER = DeviceKeys.generate();

    @TempDir
    Path dir;

    private final MovableClock clock = new MovableClock(T0);
    private final DeviceKeys rewardKey = DeviceKeys.generate();

    private ProofOfService open(RewardIssuer rewards, Optional<Path> state) {
        List<byte[]> trusted = List.of(ENDPOINT_A.publicKey(), ENDPOINT_B.publicKey(), ENDPOINT_C.publicKey());
        return ProofOfService.open(
                ServiceSettings.defaults()
                        .withAudits(Duration.ofHours(1), 8, Duration.ofSeconds(5))
                        .withTrustedEndpoints(trusted),
                clock,
                TTL,
                trusted,
                rewards,
                state);
    }

    private ProofOfService inMemory() {
        return open(RewardIssuer.inMemory(rewardKey), Optional.empty());
    }

    private long now() {
        return clock.millis();
    }

    /** Moves to the next audit period, reports, and returns the audit challenge the receipt asks. */
    private byte[] audited(ProofOfService pos, Board b) {
        clock.advance(Duration.ofHours(2));
        pos.onAccepted(b.report(now()), now());
        return asked(pos, b);
    }

    private byte[] asked(ProofOfService pos, Board b) {
        byte[] n = nonce(now());
        Receipt.Challenge c = pos.duties(b.keys.deviceId(), new Receipt.Challenge(n, TTL));
        assertEquals(8, c.auditLeaves(), "the challenge asks an audit");
        assertEquals(Duration.ofSeconds(5), c.auditDeadline());
        return c.nonce(); // a contained device is asked its pending audit again, not this nonce
    }

    private static ProofOfService.DeviceScore score(ProofOfService pos, Board b) {
        return pos.scores().get(b.keys.deviceId().value());
    }

    // ------------------------------------------------------------------ audits

    @Test
    void theReputationFormulaGivesTheFiguresOfRewardsMd() {
        Reputation r = Reputation.fresh();
        assertEquals(1.0, r.value());
        for (int i = 1; i <= 4; i++) {
            r = r.failure();
            assertEquals(Math.pow(0.95, i), r.value(), 1e-12);
        }
        assertFalse(r.disqualified(), "4 failures: 0.8145");
        r = r.failure();
        assertTrue(r.disqualified(), "the 5th: 0.7738");
        r = r.success().success();
        assertTrue(r.disqualified(), "2 successes: 0.7957");
        r = r.success();
        assertFalse(r.disqualified(), "3 successes: 0.8059");
    }

    @Test
    void failuresDisqualifyAtTheFifthAndTheReceiptSaysSoUntilThreeSuccessesRecoverIt() {
        ProofOfService pos = inMemory();
        Board b = new Board(true);
        pos.onAccepted(b.report(now()), now());
        ProofOfService.Verdict v = null;
        for (int i = 1; i <= 5; i++) {
            byte[] n = audited(pos, b);
            clock.advance(Duration.ofMillis(200));
            byte[] other = nonce(now()); // answers another audit: wrong leaves
            v = pos.onAccepted(b.answer(now(), n, b.plot.answer(other, 8)), now());
            assertTrue(v.service().orElseThrow().contains("audit failed"), v.toString());
            assertEquals(i == 5, v.disqualified().isPresent(), "after failure " + i + ": " + v);
        }
        assertTrue(
                v.disqualified().orElseThrow().contains("0.774"),
                v.disqualified().get());
        assertTrue(v.disqualified().get().contains("5 failed"), v.disqualified().get());
        assertTrue(pos.disqualified(b.keys.deviceId()).isPresent());
        assertEquals(5L, score(pos, b).audits().get(AuditOutcome.FAILURE));
        for (int i = 1; i <= 3; i++) {
            byte[] n = audited(pos, b);
            clock.advance(Duration.ofMillis(200));
            v = pos.onAccepted(b.answer(now(), n, 8), now());
            assertTrue(v.service().orElseThrow().contains("audit passed"), v.toString());
            assertEquals(i < 3, v.disqualified().isPresent(), "after success " + i + ": " + v);
        }
        assertEquals(3L, score(pos, b).audits().get(AuditOutcome.SUCCESS));
    }

    @Test
    void anAuditOfATinyPlotProvesNothingOfALargerCommitmentWithTheSameRoot() {
        ProofOfService pos = inMemory();
        Board b = new Board(true);
        byte[] n = audited(pos, b);
        clock.advance(Duration.ofMillis(200));
        pos.onAccepted(b.answer(now(), n, 8), now());
        assertEquals(b.plot.commitment.bytes(), score(pos, b).storageProvenBytes());
        PlotCommitment tiny = b.plot.commitment;
        b.claimed = new PlotCommitment(new PlotParams(tiny.params().seed(), 1L << 32, 4096), tiny.root());
        clock.advance(Duration.ofMinutes(1));
        pos.onAccepted(b.report(now()), now());
        assertEquals(0, score(pos, b).storageProvenBytes(), "the same root, 2^32 leaves of 4096 bytes: not audited");
        b.claimed = null;
        clock.advance(Duration.ofMinutes(1));
        pos.onAccepted(b.report(now()), now());
        assertEquals(0, score(pos, b).storageProvenBytes(), "a commitment change clears the successes");
    }

    @Test
    void anEpochKeepsItsStorageCreditWhenTheNextAuditPassesAfterItsEnd() {
        ProofOfService pos = inMemory();
        Board b = new Board(true);
        reportEveryMinute(pos, b, T0 - 60_000, T0 + 1_800_000, 60_000);
        byte[] n = asked(pos, b);
        clock.advance(Duration.ofMillis(200));
        pos.onAccepted(b.answer(now(), n, 8), now());
        reportEveryMinute(pos, b, T0 + 1_860_000, T0 + 3_660_000, 60_000);
        clock.set(T0 + 7_200_000);
        pos.onAccepted(b.report(now()), now());
        n = asked(pos, b);
        clock.advance(Duration.ofMillis(200));
        pos.onAccepted(b.answer(now(), n, 8), now());
        clock.set(T0 + 7_201_000);
        pos.tick();
        Scoring.EpochScore s = score(pos, b).lastEpoch().orElseThrow();
        assertEquals(T0 / 3_600_000, s.epoch());
        assertEquals(b.plot.commitment.bytes(), s.storageProvenBytes());
    }

    @Test
    void aLateCorrectAnswerIsContainedAndAuditedAgainAtOnceThenSucceeds() {
        ProofOfService pos = inMemory();
        Board b = new Board(true);
        byte[] n = audited(pos, b);
        clock.advance(Duration.ofSeconds(7)); // deadline 5 s
        var v = pos.onAccepted(b.answer(now(), n, 8), now());
        assertTrue(v.service().orElseThrow().contains("contained"), v.toString());
        assertEquals(1.0, score(pos, b).reputation(), "containment alone does not move the reputation");
        byte[] again = asked(pos, b); // at once, no waiting for the next period
        clock.advance(Duration.ofMillis(300));
        v = pos.onAccepted(b.answer(now(), again, 8), now());
        assertTrue(v.service().orElseThrow().contains("audit passed"), v.toString());
        var s = score(pos, b);
        assertEquals(1L, s.audits().get(AuditOutcome.CONTAINED));
        assertEquals(1L, s.audits().get(AuditOutcome.SUCCESS));
        assertEquals(b.plot.commitment.bytes(), s.storageProvenBytes());
    }

    /** Audits {@code b} and answers late: contained. Returns the audit's nonce. */
    private byte[] contained(ProofOfService pos, Board b) {
        byte[] n = audited(pos, b);
        clock.advance(Duration.ofSeconds(7));
        var v = pos.onAccepted(b.answer(now(), n, 8), now());
        assertTrue(v.service().orElseThrow().contains("contained"), v.toString());
        return n;
    }

    @Test
    void aContainedDeviceIsAskedTheSameAuditAgainAndItsOwnErrorCountsLate() {
        ProofOfService pos = inMemory();
        Board b = new Board(true);
        byte[] n = contained(pos, b);
        for (int i = 2; i <= 3; i++) {
            clock.advance(Duration.ofSeconds(1));
            byte[] again = asked(pos, b);
            assertTrue(Arrays.equals(n, again), "the same nonce, so the same leaves and commitment");
            var v = pos.onAccepted(b.answer(now(), again, AuditAnswer.failed("I kept only part")), now());
            String said = v.service().orElseThrow();
            assertTrue(said.contains(i < 3 ? "counted late (2 of 3)" : "a failure"), said);
        }
        var s = score(pos, b);
        assertEquals(1L, s.audits().get(AuditOutcome.FAILURE));
        assertEquals(0.95, s.reputation(), 1e-12, "no re-rolling the leaves until they suit");
        byte[] next = audited(pos, b); // no longer contained: a new audit in the next period
        assertFalse(Arrays.equals(n, next));
    }

    @Test
    void aContainedAuditWhoseChallengeLapsedCountsLateAndANewOneIsAsked() {
        ProofOfService pos = inMemory();
        Board b = new Board(true);
        byte[] n = contained(pos, b);
        clock.advance(TTL); // the board said nothing for the challenge's whole lifetime
        pos.onAccepted(b.report(now()), now());
        byte[] fresh = asked(pos, b);
        assertFalse(Arrays.equals(n, fresh));
        clock.advance(Duration.ofSeconds(7));
        pos.onAccepted(b.answer(now(), fresh, 8), now()); // late again: the third in a row
        var s = score(pos, b);
        assertEquals(2L, s.audits().get(AuditOutcome.CONTAINED), "the lapse counts as late");
        assertEquals(1L, s.audits().get(AuditOutcome.FAILURE));
    }

    @Test
    void dodgingAnAuditClearsTheStorageCredit() {
        ProofOfService pos = inMemory();
        Board b = new Board(true);
        byte[] n = audited(pos, b);
        clock.advance(Duration.ofMillis(200));
        pos.onAccepted(b.answer(now(), n, 8), now());
        assertEquals(b.plot.commitment.bytes(), score(pos, b).storageProvenBytes());
        n = audited(pos, b);
        pos.onAccepted(b.answer(now(), n, AuditAnswer.failed("busy")), now());
        assertEquals(0, score(pos, b).storageProvenBytes(), "unknown");
        n = audited(pos, b);
        clock.advance(Duration.ofMillis(200));
        pos.onAccepted(b.answer(now(), n, 8), now());
        assertEquals(b.plot.commitment.bytes(), score(pos, b).storageProvenBytes());
        audited(pos, b);
        clock.advance(Duration.ofSeconds(6));
        var v = pos.onAccepted(b.report(now()), now());
        assertTrue(v.service().orElseThrow().contains("offline"), v.toString());
        assertEquals(0, score(pos, b).storageProvenBytes(), "offline");
    }

    @Test
    void anAuditLeftUnansweredByABoardThatAnsweredALaterChallengeIsAFailure() {
        ProofOfService pos = inMemory();
        Board b = new Board(true);
        audited(pos, b);
        clock.advance(Duration.ofSeconds(1));
        byte[] later = nonce(now()); // the receipt of another report, after the audit's
        pos.duties(b.keys.deviceId(), new Receipt.Challenge(later, TTL));
        clock.advance(Duration.ofSeconds(5));
        var v = pos.onAccepted(b.report(now(), Optional.of(later), Optional.empty()), now());
        assertTrue(v.service().orElseThrow().contains("answered a later challenge"), v.toString());
        var s = score(pos, b);
        assertEquals(1L, s.audits().get(AuditOutcome.FAILURE));
        assertEquals(0L, s.audits().get(AuditOutcome.OFFLINE));
    }

    @Test
    void threeLateAnswersInARowCountAsOneFailure() {
        ProofOfService pos = inMemory();
        Board b = new Board(true);
        byte[] n = audited(pos, b);
        for (int i = 1; i <= 3; i++) {
            clock.advance(Duration.ofSeconds(6));
            var v = pos.onAccepted(b.answer(now(), n, 8), now());
            if (i < 3) {
                assertTrue(v.service().orElseThrow().contains("contained"), v.toString());
                n = asked(pos, b);
            } else {
                assertTrue(v.service().orElseThrow().contains("a failure"), v.toString());
            }
        }
        var s = score(pos, b);
        assertEquals(2L, s.audits().get(AuditOutcome.CONTAINED));
        assertEquals(1L, s.audits().get(AuditOutcome.FAILURE));
        assertEquals(0.95, s.reputation(), 1e-12);
        assertEquals(0, s.storageProvenBytes());
    }

    @Test
    void offlineIsDecidedOnlyAfterTheDeadlineAndAnAnswerWithoutProofIsAFailure() {
        ProofOfService pos = inMemory();
        Board b = new Board(true);
        byte[] n = audited(pos, b);
        clock.advance(Duration.ofSeconds(2));
        var v = pos.onAccepted(b.report(now()), now()); // not the answer, but still in time
        assertTrue(v.service().isEmpty(), "nothing decided yet: " + v);
        clock.advance(Duration.ofSeconds(4));
        v = pos.onAccepted(b.report(now()), now());
        assertTrue(v.service().orElseThrow().contains("offline"), v.toString());
        assertEquals(1L, score(pos, b).audits().get(AuditOutcome.OFFLINE));
        assertEquals(1.0, score(pos, b).reputation(), "offline does not move the audit reputation");

        byte[] m = audited(pos, b);
        clock.advance(Duration.ofSeconds(6));
        v = pos.onAccepted(b.report(now(), Optional.of(m), Optional.empty()), now());
        assertTrue(v.service().orElseThrow().contains("without its proof"), v.toString());
        assertEquals(1L, score(pos, b).audits().get(AuditOutcome.FAILURE));

        audited(pos, b); // and nobody answers at all: the next tick after the challenge's lifetime decides
        clock.advance(TTL.plusSeconds(1));
        pos.tick();
        assertEquals(2L, score(pos, b).audits().get(AuditOutcome.OFFLINE));
    }

    @Test
    void aReplayedReportAsksNoAuditSoItCannotUseOneUp() {
        ProofOfService pos = inMemory();
        Board b = new Board(true);
        clock.advance(Duration.ofHours(2));
        var first = b.report(now());
        pos.onAccepted(first, now());
        var replay =
                new Appraisal.Accepted(first.device(), first.seq(), first.claims(), true, 0, false, first.reportHash());
        clock.advance(Duration.ofSeconds(1));
        Receipt.Challenge c = VerifierService.duties(
                Optional.of(pos), replay, b.keys.deviceId(), new Receipt.Challenge(nonce(now()), TTL));
        assertEquals(0, c.auditLeaves(), "a duplicate asks nothing");
        c = VerifierService.duties(
                Optional.of(pos), b.report(now()), b.keys.deviceId(), new Receipt.Challenge(nonce(now()), TTL));
        assertEquals(8, c.auditLeaves(), "the board's own next report is asked its audit");
    }

    @Test
    void theBoardsOwnErrorIsUnknownAndCountedApart() {
        ProofOfService pos = inMemory();
        Board b = new Board(true);
        byte[] n = audited(pos, b);
        var v = pos.onAccepted(b.answer(now(), n, AuditAnswer.failed("plot.bin: I/O error")), now());
        assertTrue(v.service().orElseThrow().contains("board error: plot.bin: I/O error"), v.toString());
        var s = score(pos, b);
        assertEquals(1L, s.audits().get(AuditOutcome.UNKNOWN));
        assertEquals(0L, s.audits().get(AuditOutcome.FAILURE));
        assertEquals(1.0, s.reputation());
    }

    @Test
    void aBoardWithoutAPlotIsNeverAudited() {
        ProofOfService pos = inMemory();
        Board b = new Board(false);
        pos.onAccepted(b.report(now()), now());
        Receipt.Challenge c = pos.duties(b.keys.deviceId(), new Receipt.Challenge(nonce(now()), TTL));
        assertEquals(0, c.auditLeaves());
        assertTrue(c.bandwidthTest(), "but it is asked a bandwidth test");
    }

    // ------------------------------------------------------------------ bandwidth

    /** A board asked a bandwidth test now; the nonce of the test. */
    private byte[] bandwidthAsked(ProofOfService pos, Board b) {
        pos.onAccepted(b.report(now()), now());
        byte[] n = nonce(now());
        Receipt.Challenge c = pos.duties(b.keys.deviceId(), new Receipt.Challenge(n, TTL));
        assertTrue(c.bandwidthTest(), "the challenge asks a bandwidth test");
        return n;
    }

    @Test
    void aTestIsTheMedianOfTrustedEndpointsAndOthersAreRefusedWithTheirReason() {
        ProofOfService pos = inMemory();
        Board b = new Board(false);
        byte[] n = bandwidthAsked(pos, b);
        byte[] forged = receipt(ENDPOINT_C, b.keys, n, Direction.DOWN, 900);
        forged[forged.length - 1] ^= 1;
        List<byte[]> receipts = List.of(
                receipt(ENDPOINT_A, b.keys, n, Direction.DOWN, 80),
                receipt(ENDPOINT_B, b.keys, n, Direction.DOWN, 100),
                receipt(ENDPOINT_A, b.keys, n, Direction.UP, 20),
                receipt(ENDPOINT_B, b.keys, n, Direction.RTT, 40),
                receipt(STRANGER, b.keys, n, Direction.DOWN, 1000),
                forged,
                receipt(ENDPOINT_C, DeviceKeys.generate(), n, Direction.DOWN, 990));
        clock.advance(Duration.ofSeconds(20));
        var v = pos.onAccepted(b.bandwidth(now(), n, receipts), now());
        String s = v.service().orElseThrow();
        assertTrue(s.contains("down 90.0, up 20.0 Mbit/s, rtt 40.0 ms"), s);
        assertTrue(s.contains("3 refused"), s);
        assertTrue(s.contains("endpoint " + STRANGER.deviceId() + " is not trusted"), s);
        assertTrue(s.contains("not signed by endpoint " + ENDPOINT_C.deviceId()), s);
        assertTrue(s.contains("made for another device"), s);
        var score = score(pos, b);
        assertEquals(1, score.bandwidthSamples());
        assertEquals(90.0, score.downMbps().orElseThrow(), 1e-9);
    }

    @Test
    void aTestCountsOnceAndAnOldOrUnaskedNonceNotAtAll() {
        ProofOfService pos = inMemory();
        Board b = new Board(false);
        byte[] n = bandwidthAsked(pos, b);
        List<byte[]> receipts = List.of(receipt(ENDPOINT_A, b.keys, n, Direction.DOWN, 50));
        clock.advance(Duration.ofSeconds(10));
        assertTrue(pos.onAccepted(b.bandwidth(now(), n, receipts), now())
                .service()
                .orElseThrow()
                .contains("test counted"));
        clock.advance(Duration.ofSeconds(10));
        var again = pos.onAccepted(b.bandwidth(now(), n, receipts), now());
        assertTrue(again.service().orElseThrow().contains("counted before"), again.toString());
        assertEquals(1, score(pos, b).bandwidthSamples());

        byte[] unasked = nonce(now());
        var v = pos.onAccepted(
                b.bandwidth(now(), unasked, List.of(receipt(ENDPOINT_A, b.keys, unasked, Direction.DOWN, 50))), now());
        assertTrue(v.service().orElseThrow().contains("no bandwidth test was asked"), v.toString());

        clock.advance(Duration.ofHours(7));
        byte[] old = bandwidthAsked(pos, b);
        clock.advance(TTL.plusSeconds(1));
        v = pos.onAccepted(
                b.bandwidth(now(), old, List.of(receipt(ENDPOINT_A, b.keys, old, Direction.DOWN, 50))), now());
        assertTrue(v.service().orElseThrow().contains("older than"), v.toString());
        assertEquals(1, score(pos, b).bandwidthSamples());
    }

    private boolean asksBandwidth(ProofOfService pos, Board b) {
        pos.onAccepted(b.report(now()), now());
        return pos.duties(b.keys.deviceId(), new Receipt.Challenge(nonce(now()), TTL))
                .bandwidthTest();
    }

    @Test
    void aTestAskedAndNotCountedWithinTheChallengesLifetimeIsAskedAgain() {
        ProofOfService pos = inMemory();
        Board b = new Board(false);
        bandwidthAsked(pos, b); // and the board never sends the receipts
        clock.advance(TTL);
        assertFalse(asksBandwidth(pos, b), "the challenge may still be answered");
        clock.advance(Duration.ofSeconds(1));
        byte[] n = bandwidthAsked(pos, b); // past its lifetime: asked again, not 6 h later
        clock.advance(Duration.ofSeconds(10));
        pos.onAccepted(b.bandwidth(now(), n, List.of(receipt(ENDPOINT_A, b.keys, n, Direction.DOWN, 50))), now());
        clock.advance(TTL.plusSeconds(1));
        assertFalse(asksBandwidth(pos, b), "a counted test is not asked again before bandwidth-every");
        assertEquals(1, score(pos, b).bandwidthSamples());
    }

    @Test
    void figuresAboveTheLinkSpeedAreCappedThere() {
        ProofOfService pos = inMemory();
        Board b = new Board(false);
        b.measurements = List.of(new MeasurementClaim("net.link_speed", 100e6, "bit/s", "test"));
        byte[] n = bandwidthAsked(pos, b);
        var v = pos.onAccepted(
                b.bandwidth(now(), n, List.of(receipt(ENDPOINT_A, b.keys, n, Direction.DOWN, 400))), now());
        assertEquals(100.0, score(pos, b).downMbps().orElseThrow(), 1e-9);
        assertTrue(v.service().orElseThrow().contains("down 100.0"), v.toString());
    }

    // ------------------------------------------------------------------ uptime

    /** Reports every minute from {@code from} to {@code to} (ms), fresh challenges, up moving by {@code upStep} a minute. */
    private void reportEveryMinute(ProofOfService pos, Board b, long from, long to, long upStepMs) {
        reportEveryMinute(pos, b, from, to, upStepMs, null);
    }

    private void reportEveryMinute(ProofOfService pos, Board b, long from, long to, long upStepMs, byte[] first) {
        byte[] n = first;
        for (long t = from; t <= to; t += 60_000) {
            clock.set(t);
            pos.onAccepted(b.report(t, Optional.ofNullable(n), Optional.empty()), t);
            n = nonce(t); // the receipt's challenge, carried by the next report
            b.upMs += upStepMs;
        }
    }

    /**
     * {@code b}'s reports a minute apart over [from, to] by their arrival times, each carrying the
     * last one's receipt nonce and a minute more uptime: for a judge fed later than they came.
     */
    private static java.util.SortedMap<Long, Appraisal.Accepted> minuteReports(Board b, long from, long to) {
        var reports = new java.util.TreeMap<Long, Appraisal.Accepted>();
        byte[] n = null;
        for (long t = from; t <= to; t += 60_000) {
            reports.put(t, b.report(t, Optional.ofNullable(n), Optional.empty()));
            n = nonce(t);
            b.upMs += 60_000;
        }
        return reports;
    }

    private Scoring.EpochScore closedEpoch(ProofOfService pos, Board b) {
        clock.set(T0 + 3_600_000 + 181_000);
        pos.tick();
        return score(pos, b).lastEpoch().orElseThrow();
    }

    @Test
    void aSteadyBoardIsUpTheWholeEpoch() {
        ProofOfService pos = inMemory();
        Board b = new Board(false);
        reportEveryMinute(pos, b, T0 - 60_000, T0 + 3_660_000, 60_000);
        assertEquals(100.0, closedEpoch(pos, b).uptimePct(), 1e-9);
    }

    @Test
    void aBoardStoppedForPartOfTheEpochIsCreditedOnlyItsUpTime() {
        ProofOfService pos = inMemory();
        Board b = new Board(false);
        reportEveryMinute(pos, b, T0 - 60_000, T0 + 1_800_000, 60_000);
        b.run = 555_000; // the agent restarted 20 minutes later
        b.upMs += 20 * 60_000;
        reportEveryMinute(pos, b, T0 + 3_000_000, T0 + 3_660_000, 60_000);
        assertEquals(40.0 / 60 * 100, closedEpoch(pos, b).uptimePct(), 1e-6);
    }

    @Test
    void aMonotonicClockThatRunsFastGetsOnlyTheVerifiersTimeAndOneThatRunsSlowItsOwn() {
        ProofOfService pos = inMemory();
        Board fast = new Board(false);
        Board slow = new Board(false);
        reportEveryMinute(pos, fast, T0 - 60_000, T0 + 3_660_000, 120_000);
        reportEveryMinute(pos, slow, T0 - 60_000, T0 + 3_660_000, 30_000);
        assertEquals(100.0, closedEpoch(pos, fast).uptimePct(), 1e-9);
        assertEquals(50.0, score(pos, slow).lastEpoch().orElseThrow().uptimePct(), 1e-9);
    }

    @Test
    void aWallClockJumpChangesNothing() {
        ProofOfService pos = inMemory();
        Board b = new Board(false);
        reportEveryMinute(pos, b, T0 - 60_000, T0 + 1_800_000, 60_000);
        b.iatOffsetMs = Duration.ofDays(1).toMillis(); // the board's clock jumps a day ahead
        reportEveryMinute(pos, b, T0 + 1_860_000, T0 + 3_660_000, 60_000, nonce(T0 + 1_800_000));
        assertEquals(100.0, closedEpoch(pos, b).uptimePct(), 1e-9);
    }

    @Test
    void aBacklogDeliveredAtOnceCreatesNoTime() {
        ProofOfService pos = inMemory();
        Board b = new Board(false);
        reportEveryMinute(pos, b, T0 - 60_000, T0 + 600_000, 60_000);
        // Down for 40 minutes; then its outbox delivers 40 reports within a second, up claims and all.
        long t = T0 + 3_000_000;
        for (int i = 0; i < 40; i++) {
            b.upMs += 60_000;
            pos.onAccepted(b.report(t + i, Optional.of(nonce(t - 2_400_000 + i * 60_000L)), Optional.empty()), t + i);
        }
        assertEquals(10.0 / 60 * 100, closedEpoch(pos, b).uptimePct(), 0.01);
    }

    /** The demo's epoch starts with the run: a board up since then is up all of the epoch so far. */
    @Test
    void epochsCountFromTheirOrigin() {
        long origin = T0 + 1_200_000; // twenty past the hour
        List<byte[]> trusted = List.of(ENDPOINT_A.publicKey());
        ProofOfService fromOrigin = ProofOfService.open(
                ServiceSettings.defaults().withEpochOrigin(Instant.ofEpochMilli(origin)),
                clock,
                TTL,
                trusted,
                RewardIssuer.inMemory(rewardKey),
                Optional.empty());
        ProofOfService hourly = inMemory();
        Board b = new Board(false);
        byte[] n = null;
        for (long t = origin; t <= origin + 1_800_000; t += 60_000) {
            clock.set(t);
            var report = b.report(t, Optional.ofNullable(n), Optional.empty());
            fromOrigin.onAccepted(report, t);
            hourly.onAccepted(report, t);
            n = nonce(t);
            b.upMs += 60_000;
        }
        assertEquals(100.0, score(fromOrigin, b).uptimePct(), 1e-9, "up the 30 minutes since the origin");
        assertEquals(60.0, score(hourly, b).uptimePct(), 1e-9, "up 30 of the clock hour's 50 minutes so far");
    }

    // ------------------------------------------------------------------ epochs and rewards

    @Test
    void anEpochCloseIssuesOneRewardPerDeviceThatTheLedgerExecutesAndARestartNeverAgain() throws Exception {
        Path log = dir.resolve(ProofOfService.REWARDS_LOG);
        Path state = dir.resolve(ProofOfService.STATE_FILE);
        ProofOfService pos = open(RewardIssuer.open(rewardKey, log), Optional.of(state));
        Board a = new Board(true);
        Board b = new Board(false);
        reportEveryMinute(pos, a, T0 - 60_000, T0 + 3_660_000, 60_000);
        clock.set(T0);
        reportEveryMinute(pos, b, T0 - 60_000, T0 + 3_660_000, 60_000);
        pos.save();
        byte[] before = Files.readAllBytes(state); // a state saved before the close
        Scoring.EpochScore s = closedEpoch(pos, a);
        assertEquals(400, s.reward(), "up all the epoch, no storage proven, no bandwidth: 0.4 of 1000");
        List<RewardIssuer.Issued> issued = pos.rewards().orElseThrow().recent();
        assertEquals(2, issued.size());
        assertEquals(
                Map.of(a.keys.deviceId(), 400L, b.keys.deviceId(), 400L),
                Map.of(
                        issued.get(0).device(),
                        issued.get(0).amount(),
                        issued.get(1).device(),
                        issued.get(1).amount()));
        pos.close();

        // A shard whose genesis names the reward key executes them, signatures checked.
        byte[] validatorKey = Keys.derived(7, 1);
        Address validator = Keys.publicKey(validatorKey);
        byte[] addrs = new byte[2 * Address.SIZE];
        System.arraycopy(validator.toBytes(), 0, addrs, 0, Address.SIZE);
        System.arraycopy(rewardKey.publicKey(), 0, addrs, Address.SIZE, Address.SIZE);
        Genesis genesis = new Genesis(
                new LedgerParams(1, 0, Address.of(rewardKey.publicKey()), 100),
                1_000,
                addrs,
                new long[] {10_000, 0},
                new long[] {1_000, 0});
        Tx[] txs = issued.stream().map(RewardIssuer.Issued::tx).toArray(Tx[]::new);
        byte[] block = new ChainBuilder(genesis, Map.of(validator, validatorKey))
                .draft(txs)
                .seal();
        Chain chain = Chain.fromGenesis(genesis);
        BlockVerdict verdict = new BlockValidator(new SequentialBlockExecutor(), true).apply(block, chain);
        assertTrue(verdict instanceof BlockVerdict.Valid, verdict::toString);
        assertEquals(
                400L,
                chain.state()
                        .account(Address.of(a.keys.publicKey()))
                        .orElseThrow()
                        .balance());
        assertEquals(
                400L,
                chain.state()
                        .account(Address.of(b.keys.publicKey()))
                        .orElseThrow()
                        .balance());

        // Restarted from a state saved before the close: the log says the epoch is issued.
        Files.write(state, before);
        ProofOfService again = open(RewardIssuer.open(rewardKey, log), Optional.of(state));
        again.tick();
        assertEquals(2, again.rewards().orElseThrow().recent().size(), "nothing issued twice");
        assertEquals(2, again.rewards().orElseThrow().nextNonce());
        // The next epoch (the last minute's credit) is issued once, with the nonces that follow.
        clock.advance(Duration.ofHours(3));
        again.tick();
        long e = T0 / 3_600_000;
        assertEquals(
                List.of(e, e, e + 1, e + 1),
                again.rewards().orElseThrow().recent().stream()
                        .map(RewardIssuer.Issued::epoch)
                        .toList());
        assertEquals(
                List.of(0L, 1L, 2L, 3L),
                again.rewards().orElseThrow().recent().stream()
                        .map(r -> r.tx().nonce())
                        .toList());
        long lines = Files.readAllLines(log).stream()
                .filter(l -> l.startsWith("v1 reward"))
                .count();
        assertEquals(4, lines);
        again.close();
    }

    /** One Kafka verifier's judge, its closed epochs collected as "epoch:device=amount", sorted. */
    private static final class Partitioned {
        private final List<String> closed = new ArrayList<>();
        final ProofOfService pos;

        Partitioned(java.time.Clock clock) {
            pos = ProofOfService.partitioned(
                    ServiceSettings.defaults(), clock, TTL, List.of(), (epoch, due, scored) -> {
                        for (RewardIssuer.Due d : due) {
                            closed.add(epoch + ":" + d.device().value().substring(0, 8) + "=" + d.amount());
                        }
                    });
        }

        List<String> closed() {
            return closed.stream().sorted().toList();
        }
    }

    /**
     * A Kafka verifier's judge: a device's state moves with its partition to another verifier, which
     * closes its epoch once, with the uptime credited before and after the move; a third verifier
     * given it with another device that still has that epoch open neither closes it again for it nor
     * credits it more of it.
     */
    @Test
    void aDeviceMovedToAnotherVerifierHasItsEpochClosedOnceAndCreditedNoMore() {
        Board x = new Board(false);
        Board y = new Board(false);
        String xs = x.keys.deviceId().value().substring(0, 8);
        String ys = y.keys.deviceId().value().substring(0, 8);
        long epoch = T0 / 3_600_000;

        Partitioned a = new Partitioned(clock);
        reportEveryMinute(a.pos, x, T0, T0 + 1_800_000, 60_000);
        reportEveryMinute(a.pos, y, T0, T0 + 1_800_000, 60_000);
        Map<DeviceId, byte[]> atMove = a.pos.takeChanged();
        assertEquals(java.util.Set.of(x.keys.deviceId(), y.keys.deviceId()), atMove.keySet());
        assertTrue(a.pos.takeChanged().isEmpty(), "taken: nothing changed since");

        // Half an hour in, both partitions move to b; x reports there until a minute before the epoch's end.
        Partitioned b = new Partitioned(clock);
        atMove.forEach(b.pos::restore);
        reportEveryMinute(b.pos, x, T0 + 1_860_000, T0 + 3_540_000, 60_000, nonce(T0 + 1_800_000));
        clock.set(T0 + 3_600_000 + 181_000);
        b.pos.tick();
        assertEquals(
                List.of(epoch + ":" + xs + "=393", epoch + ":" + ys + "=200").stream()
                        .sorted()
                        .toList(),
                b.closed(),
                "x up 59 of the epoch's 60 minutes on two verifiers (0.4 of 1000 a full epoch), y 30");
        Map<DeviceId, byte[]> afterClose = b.pos.takeChanged();
        assertEquals(java.util.Set.of(x.keys.deviceId(), y.keys.deviceId()), afterClose.keySet(), "closed: both");

        // x moves on to c; y's state there is one from before the close (written before b closed it,
        // say), so the epoch is open on c, for y.
        Partitioned c = new Partitioned(clock);
        c.pos.restore(x.keys.deviceId(), afterClose.get(x.keys.deviceId()));
        c.pos.restore(y.keys.deviceId(), atMove.get(y.keys.deviceId()));
        // x's next report comes 160 s after its last one, across the epoch's end: 60 s of it in the closed epoch.
        x.upMs += 100_000;
        clock.set(T0 + 3_700_000);
        c.pos.onAccepted(x.report(now(), Optional.of(nonce(T0 + 3_540_000)), Optional.empty()), now());
        clock.set(T0 + 3_600_000 + 181_000);
        c.pos.tick();
        assertEquals(List.of(epoch + ":" + ys + "=200"), c.closed(), "x is not paid that epoch again");
        clock.set(T0 + 7_200_000 + 181_000);
        c.pos.tick();
        assertEquals(
                List.of(epoch + ":" + ys + "=200", (epoch + 1) + ":" + xs + "=11"),
                c.closed(),
                "x's next epoch: the 100 s after the epoch's end (160 s credited pro rata), 100/3600 of 400");
    }

    /**
     * A Kafka verifier's judge made just after an epoch's end (a partition moved then) still credits
     * that epoch with reports that arrived in it and reach the judge late, until the epoch can close.
     */
    @Test
    void aFreshJudgeLeavesThePreviousEpochOpenUntilItCanClose() {
        Board x = new Board(false);
        String xs = x.keys.deviceId().value().substring(0, 8);
        long epoch = T0 / 3_600_000;
        clock.set(T0 + 60_000); // a minute into the epoch: the one before closes at T0 + 3 min
        Partitioned late = new Partitioned(clock);
        minuteReports(x, T0 - 120_000, T0 + 60_000).forEach((t, r) -> late.pos.onAccepted(r, t));
        clock.set(T0 + 181_000);
        late.pos.tick();
        assertEquals(
                List.of((epoch - 1) + ":" + xs + "=13"),
                late.closed(),
                "the last 2 of the previous epoch's 60 minutes: 2/60 of 400");
    }

    @Test
    void aJudgeBehindItsReportsClosesNoEpochTheyCouldStillCredit() {
        Board x = new Board(false);
        String xs = x.keys.deviceId().value().substring(0, 8);
        long epoch = T0 / 3_600_000;
        clock.set(T0 - 180_000);
        Partitioned behind = new Partitioned(clock);
        // Reports a minute apart across the epoch's end; the verifier reads them long after they came.
        var reports = minuteReports(x, T0 - 120_000, T0 + 60_000);
        clock.set(T0 + 600_000); // by the clock, the epoch before T0 closed 7 minutes ago
        behind.pos.onAccepted(reports.get(T0 - 120_000), T0 - 120_000);
        behind.pos.onAccepted(reports.get(T0 - 60_000), T0 - 60_000);
        behind.pos.tick(T0 - 60_000); // read through T0 - 1 min only
        assertEquals(List.of(), behind.closed(), "nothing closes that a report still to read could credit");
        behind.pos.onAccepted(reports.get(T0), T0);
        behind.pos.onAccepted(reports.get(T0 + 60_000), T0 + 60_000);
        behind.pos.tick(T0 + 60_000);
        assertEquals(List.of(), behind.closed(), "read through T0 + 1 min: within uptime-max-gap of the end");
        behind.pos.tick(Long.MAX_VALUE); // read to the end: the clock
        System.out.println("tried: a verifier 10 min behind ticking before it read the epoch's last report;"
                + " closed " + behind.closed() + " only once it had");
        assertEquals(
                List.of((epoch - 1) + ":" + xs + "=13"),
                behind.closed(),
                "both minutes at the end of the previous epoch: 2/60 of 400, none lost");

        // The same reports, the judge ticking by its clock alone: the epoch's last minute is lost.
        Board y = new Board(false);
        String ys = y.keys.deviceId().value().substring(0, 8);
        clock.set(T0 - 180_000);
        Partitioned byClock = new Partitioned(clock);
        var same = minuteReports(y, T0 - 120_000, T0);
        clock.set(T0 + 600_000);
        byClock.pos.onAccepted(same.get(T0 - 120_000), T0 - 120_000);
        byClock.pos.onAccepted(same.get(T0 - 60_000), T0 - 60_000);
        byClock.pos.tick();
        byClock.pos.onAccepted(same.get(T0), T0);
        byClock.pos.tick();
        System.out.println("lost without it: " + byClock.closed());
        assertEquals(List.of((epoch - 1) + ":" + ys + "=6"), byClock.closed(), "1 of its 2 minutes: 1/60 of 400");
    }

    @Test
    void aJudgeStartedHoursBehindItsReportsStillCreditsTheirEpochs() {
        Board x = new Board(false);
        String xs = x.keys.deviceId().value().substring(0, 8);
        long epoch = T0 / 3_600_000;
        clock.set(T0 + 3 * 3_600_000); // the verifier starts three hours after the reports came
        Partitioned late = new Partitioned(clock);
        minuteReports(x, T0 - 120_000, T0 + 60_000).forEach((t, r) -> {
            late.pos.onAccepted(r, t);
            late.pos.tick(t); // read through this report
        });
        assertEquals(List.of(), late.closed(), "read through T0 + 1 min: nothing closable yet");
        late.pos.tick(Long.MAX_VALUE);
        System.out.println("tried: a judge started 3 h after the reports it reads; closed " + late.closed());
        assertEquals(
                List.of((epoch - 1) + ":" + xs + "=13", epoch + ":" + xs + "=6"),
                late.closed(),
                "the last 2 minutes of the epoch before T0 and the first of T0's, none dropped for being old");
    }

    @Test
    void aRewardLogThatCannotBeWrittenLosesNoEpochTheNextTickIssuesIt() throws Exception {
        Path log = dir.resolve(ProofOfService.REWARDS_LOG);
        RewardIssuer issuer = RewardIssuer.open(rewardKey, log);
        ProofOfService pos = open(issuer, Optional.empty());
        Board a = new Board(false);
        reportEveryMinute(pos, a, T0 - 60_000, T0 + 3_660_000, 60_000);
        issuer.faults(step -> {
            throw new java.io.IOException("No space left on device");
        });
        clock.set(T0 + 3_600_000 + 181_000);
        assertThrows(StorageFailure.class, pos::tick);
        assertTrue(issuer.recent().isEmpty());
        issuer.faults(step -> {});
        clock.advance(Duration.ofSeconds(5));
        pos.tick();
        Scoring.EpochScore s = score(pos, a).lastEpoch().orElseThrow();
        assertEquals(T0 / 3_600_000, s.epoch());
        assertEquals(400, s.reward());
        assertEquals(
                List.of(0L), issuer.recent().stream().map(r -> r.tx().nonce()).toList());
        assertEquals(
                1,
                Files.readAllLines(log).stream()
                        .filter(l -> l.startsWith("v1 reward"))
                        .count());
    }

    @Test
    void aDisqualifiedDeviceScoresNothing() {
        var s = Scoring.score(0, 1.0, 1L << 30, 1L << 30, List.of(), 0.7, Optional.of("reputation 0.70"), 1000);
        assertEquals(0, s.reward());
        var ok = Scoring.score(0, 1.0, 1L << 30, 1L << 30, List.of(), 1.0, Optional.empty(), 1000);
        assertEquals(700, ok.reward(), "uptime and storage, no bandwidth samples");
        List<Scoring.Test> tests = new ArrayList<>();
        tests.add(new Scoring.Test(1, 120, 30, 20));
        tests.add(new Scoring.Test(2, 60, 30, 20));
        var tiered = Scoring.score(0, 1.0, 1L << 30, 1L << 30, tests, 1.0, Optional.empty(), 1000);
        assertEquals(0.75, tiered.bandwidthMultiplier(), "median download 90: the 50 Mbit/s tier caps it");
        assertEquals(925, tiered.reward());
    }

    @Test
    void aDamagedStateFileStopsTheStartWithOneLineNamingItAndTheFix() throws Exception {
        Path state = dir.resolve(ProofOfService.STATE_FILE);
        ProofOfService pos = open(RewardIssuer.inMemory(rewardKey), Optional.of(state));
        Board b = new Board(true);
        pos.onAccepted(b.report(now()), now());
        pos.close();
        byte[] bytes = Files.readAllBytes(state);
        bytes[bytes.length / 2] ^= 0x40;
        Files.write(state, bytes);
        Failure f = assertThrows(Failure.class, () -> open(RewardIssuer.inMemory(rewardKey), Optional.of(state)));
        assertFalse(f.getMessage().contains("\n"), f.getMessage());
        assertTrue(f.getMessage().contains(state.toString()), f.getMessage());
        assertTrue(f.getMessage().contains("move it aside"), f.getMessage());
        assertEquals(Failure.Kind.BAD_INPUT, f.kind());
    }

    @Test
    void theStateSurvivesARestart() {
        Path state = dir.resolve(ProofOfService.STATE_FILE);
        ProofOfService pos = open(RewardIssuer.inMemory(rewardKey), Optional.of(state));
        Board b = new Board(true);
        byte[] n = audited(pos, b);
        pos.onAccepted(b.answer(now(), n, b.plot.answer(nonce(now()), 8)), now());
        pos.close();
        ProofOfService again = open(RewardIssuer.inMemory(rewardKey), Optional.of(state));
        var s = score(again, b);
        assertEquals(0.95, s.reputation(), 1e-12);
        assertEquals(1L, s.audits().get(AuditOutcome.FAILURE));
    }
}
