package dev.prospector.agent.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.prospector.agent.outbox.OutboxJournal;
import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.ReportSigner;
import dev.prospector.attest.SignedReport;
import dev.prospector.hardware.Board;
import dev.prospector.hardware.BoardSelection;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent stores a report in the outbox before the chain state moves. A crash between the two
 * must lose nothing and reuse no seq: at the next start the chain is reconciled from the outbox.
 */
class CrashBetweenStoreAndChainTest {
    @TempDir
    Path dir;

    @Test
    void aReportStoredBeforeTheChainMovedIsNeitherLostNorItsSeqReused() throws Exception {
        DeviceKeys keys = DeviceKeys.loadOrCreate(dir);
        Clock clock = Clock.systemUTC();
        ReportFactory factory = AgentWiring.reportFactory("f", AgentWiring.configHash("test"), clock);
        Path journal = dir.resolve(AgentWiring.OUTBOX_FILE);
        SignedReport first;
        SignedReport stored;
        try (Board board = AgentWiring.board(BoardSelection.EMULATED, dir, 1, clock);
                OutboxJournal outbox =
                        OutboxJournal.open(journal, 1 << 20, keys.deviceId().value())) {
            ReportSigner signer = new ReportSigner(keys, ChainState.open(dir));
            first = signer.sign(
                    factory.input(board.measure(), Optional.empty()),
                    r -> outbox.append(r.claims().seq(), r.claims().chain(), r.bytes()));
            SignedReport[] inStore = new SignedReport[1];
            // The process "dies" right after the outbox append: the chain state is not written.
            assertThrows(
                    SimulatedCrash.class,
                    () -> signer.sign(factory.input(board.measure(), Optional.empty()), r -> {
                        outbox.append(r.claims().seq(), r.claims().chain(), r.bytes());
                        inStore[0] = r;
                        throw new SimulatedCrash();
                    }));
            stored = inStore[0];
        }
        assertEquals(1, ChainState.open(dir).seq(), "on disk the chain is still at the first report");

        // Restart, as AgentWiring does it.
        ChainState chain = ChainState.open(dir);
        SignedReport next;
        try (Board board = AgentWiring.board(BoardSelection.EMULATED, dir, 1, clock);
                OutboxJournal outbox =
                        OutboxJournal.open(journal, 1 << 20, keys.deviceId().value())) {
            AgentWiring.reconcile(chain, outbox);
            next = new ReportSigner(keys, chain)
                    .sign(
                            factory.input(board.measure(), Optional.empty()),
                            r -> outbox.append(r.claims().seq(), r.claims().chain(), r.bytes()));
            assertEquals(3, outbox.pending().size(), "all three reports wait in the outbox");
        }
        assertEquals(3, next.claims().seq());
        assertArrayEquals(
                MessageDigest.getInstance("SHA-256").digest(stored.bytes()),
                next.claims().prev().orElseThrow());

        Appraiser verifier = new Appraiser(AppraiserConfig.defaults().withFleet("f"));
        for (SignedReport r : new SignedReport[] {first, stored, next}) {
            Appraisal a = verifier.appraise(r.bytes());
            Appraisal.Accepted accepted = assertInstanceOf(Appraisal.Accepted.class, a, a.toString());
            assertEquals(0, accepted.gap());
        }
    }

    private static final class SimulatedCrash extends RuntimeException {
        private static final long serialVersionUID = 1L;
    }
}
