package dev.prospector.agent.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.Sha256;
import dev.prospector.attest.SignedReport;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A receipt signed by a trusted verifier that names no report in flight is counted apart from
 * messages that are no trusted receipt at all, and changes nothing.
 */
class UnmatchedReceiptTest {
    @TempDir
    Path dir;

    @Test
    void aTrustedReceiptForNoReportInFlightIsCountedAsUnmatched() throws Exception {
        Path verifierDir = dir.resolve("verifier");
        DeviceKeys verifier = DeviceKeys.loadOrCreate(verifierDir);
        // The broker is away (nothing listens), so no report is ever in flight.
        var settings = BrokerAway.settings(dir.resolve("board"))
                .withVerifierKeys(List.of(verifierDir.resolve(DeviceKeys.PUBLIC_KEY_FILE)));
        try (AgentNode node = AgentWiring.agent(settings, Clock.systemUTC())) {
            SignedReport stored = node.reportNow();
            long seq = stored.claims().seq();

            // One for a report the board never made, one for the stored report that was never sent.
            node.onReceipt(receipt(new byte[32], seq + 7).sign(verifier));
            node.onReceipt(receipt(Sha256.of(stored.bytes()), seq).sign(verifier));
            // And one message that is not a receipt at all.
            node.onReceipt("not a receipt".getBytes(StandardCharsets.US_ASCII));

            NodeStats stats = node.stats();
            assertEquals(2, stats.receiptsUnmatched(), stats.toString());
            assertEquals(1, stats.receiptsRefused(), stats.toString());
            assertEquals(0, stats.delivered(), stats.toString());
            assertEquals(1, stats.pending(), "the stored report stays in the outbox: " + stats);
        }
    }

    private static Receipt receipt(byte[] reportHash, long seq) {
        return new Receipt(
                true,
                Optional.empty(),
                "accepted",
                Optional.empty(),
                OptionalLong.of(seq),
                false,
                0,
                false,
                reportHash,
                Instant.now(),
                Duration.ofMinutes(5));
    }
}
