package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
        assertThrows(IllegalStateException.class, () -> new ReportSigner(keys, ChainState.open(dir)).sign(Fixtures.input(), r -> {
            stored.set(r);
            throw new IllegalStateException("kill -9 (simulated) after the store, before the chain state");
        }));
        // Simulating the crash this way the chain did not advance; at start the agent reconciles from its outbox.
        var state = ChainState.open(dir);
        assertEquals(1, state.seq());
        state.recover(stored.get().claims().seq(), stored.get().hash());
        assertEquals(2, state.seq());
        var third = new ReportSigner(keys, state).sign(Fixtures.input());
        assertEquals(3, third.claims().seq());
        assertArrayEquals(stored.get().hash(), third.claims().prev().orElseThrow());
        assertInstanceOf(Appraisal.Accepted.class, appraiser.appraise(stored.get().bytes()));
        var a = assertInstanceOf(Appraisal.Accepted.class, appraiser.appraise(third.bytes()));
        assertEquals(0, a.gap());
    }

    @Test
    void recoveringAPositionTheStateAlreadyHasChangesNothing() {
        var keys = DeviceKeys.generate();
        var r = new ReportSigner(keys, ChainState.open(dir)).sign(Fixtures.input());
        var state = ChainState.open(dir);
        state.recover(r.claims().seq(), new byte[32]);
        assertEquals(1, state.seq());
        assertArrayEquals(r.hash(), new ReportSigner(keys, state).sign(Fixtures.input()).claims().prev().orElseThrow());
    }

    @Test
    void aStoreFarAheadBelongsToAnotherChainAndIsIgnored() {
        var state = ChainState.open(dir);
        state.recover(40, new byte[32]);
        assertEquals(0, state.seq());
    }
}
