package dev.prospector.agent.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.outbox.OutboxJournal;
import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.Report;
import dev.prospector.attest.SignedReport;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When the outbox is full, the oldest reports are dropped and the next report declares them. */
class DeclaredLossTest {
    @TempDir
    Path dir;

    @Test
    void reportsDroppedFromAFullOutboxAreDeclaredInTheNextReport() throws Exception {
        // The broker is away (nothing listens) and the outbox holds only 64 KiB.
        var settings = BrokerAway.settings(dir);
        List<SignedReport> made = new ArrayList<>();
        long declared;
        long knownBeforeLast;
        try (AgentNode node = AgentWiring.agent(settings, Clock.systemUTC())) {
            while (node.outbox().losses().count() < 3) {
                made.add(node.reportNow());
            }
            knownBeforeLast = node.outbox().losses().count();
            made.add(node.reportNow());
            declared = node.outbox().losses().count();
        }
        // A report declares every loss known when it is made (its own append may drop one more,
        // which the report after it declares).
        SignedReport last = made.get(made.size() - 1);
        assertEquals(knownBeforeLast, Report.decode(last.bytes()).claims().lost());

        // A verifier that sees only what was kept: the gap is there, and it is declared.
        Appraiser verifier =
                new Appraiser(AppraiserConfig.defaults().withFleet("f").withAllowEmulated(true));
        String device = dev.prospector.attest.DeviceKeys.load(dir).deviceId().value();
        try (OutboxJournal outbox = OutboxJournal.open(dir.resolve(AgentWiring.OUTBOX_FILE), 64 * 1024, device)) {
            long gaps = 0;
            for (OutboxJournal.Entry e : outbox.pending()) {
                Appraisal a = verifier.appraise(e.report());
                gaps += assertInstanceOf(Appraisal.Accepted.class, a, a.toString())
                        .gap();
            }
            assertTrue(declared >= 3);
            assertEquals(made.size() - outbox.pendingCount(), declared, "every report not kept is declared lost");
            assertTrue(gaps == 0, "the first kept report starts the verifier's view; later ones are contiguous");
        }
    }
}
