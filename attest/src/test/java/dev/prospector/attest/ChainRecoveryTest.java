package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The device stores a report before its chain advances; after a crash in between, the chain recovers from the store. */
class ChainRecoveryTest {
    @TempDir
    Path dir;

    @Test
    void aReportStoredButNotRecordedInTheChainStateIsRecoveredAtTheNextStart() {
        var keys = DeviceKeys.generate();
        var appraiser = Fixtures.appraiser();
        var first = new ReportSigner(keys, ChainState.open(dir)).sign(Fixtures.input());
        assertInstanceOf(Appraisal.Accepted.class, appraiser.appraise(first.bytes()));
        // The outbox stores report 2, then the process dies before the chain state is written.
        var stored = new AtomicReference<SignedReport>();
        assertThrows(
                IllegalStateException.class,
                () -> new ReportSigner(keys, ChainState.open(dir)).sign(Fixtures.input(), r -> {
                    stored.set(r);
                    throw new IllegalStateException("kill -9 (simulated) after the store, before the chain state");
                }));
        // Simulating the crash this way the chain did not advance; at start the agent reconciles from its outbox.
        var state = ChainState.open(dir);
        assertEquals(1, state.seq());
        var r = state.reconcile(stored(stored.get()));
        assertInstanceOf(ChainState.Reconciled.CaughtUp.class, r);
        assertEquals(2, state.seq());
        var third = new ReportSigner(keys, state).sign(Fixtures.input());
        assertEquals(3, third.claims().seq());
        assertArrayEquals(stored.get().hash(), third.claims().prev().orElseThrow());
        assertInstanceOf(
                Appraisal.Accepted.class, appraiser.appraise(stored.get().bytes()));
        var a = assertInstanceOf(Appraisal.Accepted.class, appraiser.appraise(third.bytes()));
        assertEquals(0, a.gap());
    }

    @Test
    void aStoreAtTheSamePositionChangesNothing() {
        var keys = DeviceKeys.generate();
        var r = new ReportSigner(keys, ChainState.open(dir)).sign(Fixtures.input());
        var state = ChainState.open(dir);
        assertInstanceOf(ChainState.Reconciled.InStep.class, state.reconcile(stored(r)));
        assertEquals(1, state.seq());
        assertArrayEquals(
                r.hash(),
                new ReportSigner(keys, state)
                        .sign(Fixtures.input())
                        .claims()
                        .prev()
                        .orElseThrow());
    }

    @Test
    void aChainStateRolledBackBehindTheStoreStartsANewChainInsteadOfReusingSeqs() {
        var keys = DeviceKeys.generate();
        var appraiser = Fixtures.appraiser();
        var signer = new ReportSigner(keys, ChainState.open(dir));
        var one = signer.sign(Fixtures.input());
        byte[] oldState = readState();
        var two = signer.sign(Fixtures.input());
        var three = signer.sign(Fixtures.input());
        for (var r : java.util.List.of(one, two, three)) {
            assertInstanceOf(Appraisal.Accepted.class, appraiser.appraise(r.bytes()));
        }
        writeState(oldState); // chain.state restored from a copy taken after report 1
        var state = ChainState.open(dir);
        var outcome = assertInstanceOf(ChainState.Reconciled.NewChain.class, state.reconcile(stored(three)));
        assertEquals(ChainState.RESTART_STATE_BEHIND, outcome.reason());
        var next = new ReportSigner(keys, state).sign(Fixtures.input());
        assertEquals(1, next.claims().seq(), "a new chain, not seq 2 again");
        assertEquals(
                java.util.Optional.of(ChainState.RESTART_STATE_BEHIND),
                next.claims().restart());
        var a = assertInstanceOf(
                Appraisal.Accepted.class, appraiser.appraise(next.bytes()), "the verifier takes the restart");
        assertTrue(a.chainRestart());
    }

    @Test
    void aStoreOfAnotherChainWithAFreshStateKeepsTheFreshChain() {
        var state = ChainState.open(dir);
        byte[] other = new byte[16];
        other[0] = 9;
        var r = state.reconcile(
                java.util.Optional.of(new ChainState.Stored(40, java.util.Optional.of(other), new byte[32])));
        assertInstanceOf(ChainState.Reconciled.InStep.class, r);
        assertEquals(0, state.seq());
    }

    @Test
    void aLostStoreStartsANewChainAndNamesWhatMayBeLostAfterTheDeliveredMark() {
        var keys = DeviceKeys.generate();
        var state = ChainState.open(dir);
        var signer = new ReportSigner(keys, state);
        signer.sign(Fixtures.input());
        signer.sign(Fixtures.input());
        state.noteDelivered(2);
        signer.sign(Fixtures.input());
        signer.sign(Fixtures.input());
        var reopened = ChainState.open(dir);
        var outcome =
                assertInstanceOf(ChainState.Reconciled.NewChain.class, reopened.reconcile(java.util.Optional.empty()));
        assertEquals(ChainState.RESTART_STORE_LOST, outcome.reason());
        assertEquals(3, outcome.lostFrom(), "reports up to 2 were known delivered when the state was last written");
        assertEquals(4, outcome.lostTo());
    }

    @Test
    void withRareCheckpointsAStateBehindTheStoreCatchesUpOnlyFromItsLastRecordedCheckpoint() {
        var keys = DeviceKeys.generate();
        var appraiser = Fixtures.appraiser();
        var checkpoints = new java.util.ArrayList<Long>();
        var state = ChainState.open(dir);
        state.checkpointRarely(4, java.time.Duration.ofHours(1), c -> checkpoints.add(c.seq()));
        var signer = new ReportSigner(keys, state);
        var made = new java.util.ArrayList<SignedReport>();
        for (int i = 0; i < 7; i++) {
            made.add(signer.sign(Fixtures.input()));
        }
        assertEquals(java.util.List.of(1L, 5L), checkpoints, "the first report of the chain, then every 4th");
        byte[] atFive = readState();
        var head = made.get(6);
        // A crash: the file says 5, the store holds 7 and recorded the checkpoint at 5.
        var reopened = ChainState.open(dir);
        assertEquals(5, reopened.seq());
        var caught = assertInstanceOf(ChainState.Reconciled.CaughtUp.class, reopened.reconcile(stored(head, 5)));
        assertEquals(7, caught.seq());
        assertEquals(7, ChainState.open(dir).seq(), "the recovered position was written at once");
        var next = new ReportSigner(keys, reopened).sign(Fixtures.input());
        assertEquals(8, next.claims().seq());
        assertArrayEquals(head.hash(), next.claims().prev().orElseThrow());
        for (var r : made) {
            assertInstanceOf(Appraisal.Accepted.class, appraiser.appraise(r.bytes()));
        }
        var a = assertInstanceOf(Appraisal.Accepted.class, appraiser.appraise(next.bytes()));
        assertEquals(0, a.gap());

        // The same file restored later, when the store has recorded a newer checkpoint: rolled back.
        writeState(atFive);
        var rolledBack = ChainState.open(dir);
        var outcome = assertInstanceOf(ChainState.Reconciled.NewChain.class, rolledBack.reconcile(stored(next, 7)));
        assertEquals(ChainState.RESTART_STATE_BEHIND, outcome.reason());
        // And a store that records no checkpoint of this chain vouches for no lag beyond one report.
        writeState(atFive);
        assertInstanceOf(
                ChainState.Reconciled.NewChain.class, ChainState.open(dir).reconcile(stored(next)));
    }

    private static java.util.Optional<ChainState.Stored> stored(SignedReport r, long checkpointed) {
        return java.util.Optional.of(new ChainState.Stored(
                r.claims().seq(),
                java.util.Optional.of(r.claims().chain()),
                r.hash(),
                java.util.OptionalLong.of(checkpointed)));
    }

    private static java.util.Optional<ChainState.Stored> stored(SignedReport r) {
        return java.util.Optional.of(new ChainState.Stored(
                r.claims().seq(), java.util.Optional.of(r.claims().chain()), r.hash()));
    }

    private byte[] readState() {
        try {
            return java.nio.file.Files.readAllBytes(dir.resolve(ChainState.FILE));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private void writeState(byte[] b) {
        try {
            java.nio.file.Files.write(dir.resolve(ChainState.FILE), b);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
