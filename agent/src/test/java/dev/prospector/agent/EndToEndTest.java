package dev.prospector.agent;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.broker.EmbeddedBroker;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.ProspectorProcess;
import dev.prospector.agent.testing.ReceiptWatcher;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The walking skeleton end to end: {@code prospector run} on an emulated board and
 * {@code prospector verifier}, two real processes, through a real broker.
 */
class EndToEndTest {
    private static final int REPORTS = 5;

    @TempDir
    Path dir;

    @Test
    void reportsFromAnEmulatedBoardAreAcceptedThroughMosquitto() {
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            runAgentAndVerifier(broker.url());
        }
    }

    @Test
    void reportsFromAnEmulatedBoardAreAcceptedThroughTheEmbeddedBroker() {
        try (EmbeddedBroker broker = EmbeddedBroker.startOnFreePort()) {
            runAgentAndVerifier(broker.url());
        }
    }

    private void runAgentAndVerifier(String url) {
        Path logs = dir.resolve("logs");
        try (ReceiptWatcher receipts = new ReceiptWatcher(url, "e2e");
             ProspectorProcess verifier = ProspectorProcess.start(logs, "verifier",
                     "verifier", "--broker", url, "--fleet", "e2e")) {
            await("verifier connected").atMost(Duration.ofSeconds(30))
                    .until(() -> verifier.stderr().contains("connected to") || !verifier.isAlive());
            assertTrue(verifier.isAlive(), "verifier died: " + verifier.stderr());
            try (ProspectorProcess agent = ProspectorProcess.start(logs, "agent",
                    "run", "--broker", url, "--fleet", "e2e", "--data-dir", dir.resolve("board").toString(),
                    "--board", "emulated", "--interval", "300ms")) {
                await("receipts for " + REPORTS + " reports").atMost(Duration.ofSeconds(60))
                        .until(() -> receipts.count("accepted") >= REPORTS || !agent.isAlive());
                assertTrue(agent.isAlive(), "agent died: " + agent.stderr());
            }
            assertEquals(0, receipts.count("rejected"), () -> "rejections: " + receipts.receipts());
            assertTrue(verifier.stderr().contains("accepted"), "verifier logs one line per accepted report");
        }
    }
}
