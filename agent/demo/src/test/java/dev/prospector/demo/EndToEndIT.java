package dev.prospector.demo;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.broker.EmbeddedBroker;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.ProspectorProcess;
import dev.prospector.agent.testing.ReceiptWatcher;
import dev.prospector.agent.testing.TestCertificates;
import dev.prospector.agent.transport.TlsSettings;
import dev.prospector.attest.ReasonCode;
import dev.prospector.attest.Receipt;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The walking skeleton end to end: {@code prospector run} on an emulated board and
 * {@code prospector verifier}, two real processes, through a real broker.
 */
class EndToEndIT {
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

    @Test
    void reportsAreAcceptedOverMutualTls() {
        TestCertificates certs = TestCertificates.generate(dir.resolve("certs"));
        try (Mosquitto broker = Mosquitto.startTls(dir.resolve("mosquitto-tls"), certs)) {
            runAgentAndVerifier(
                    broker.sslUrl(),
                    Optional.of(TlsSettings.mutual(certs.ca(), certs.clientCert(), certs.clientKey())),
                    "--ca",
                    certs.ca().toString(),
                    "--cert",
                    certs.clientCert().toString(),
                    "--key",
                    certs.clientKey().toString());
        }
    }

    /**
     * The challenge loop through a real broker and two processes: every receipt carries a fresh
     * challenge, the agent answers it in its next reports, and a verifier that requires answers
     * (state dir, so its challenge secret is on disk) rejects only the reports made before the
     * agent's first receipt.
     */
    @Test
    void afterItsFirstReceiptEveryReportAnswersAChallenge() {
        Path logs = dir.resolve("logs");
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"));
                ReceiptWatcher receipts = new ReceiptWatcher(broker.url(), "e2e");
                ProspectorProcess verifier = ProspectorProcess.start(
                        logs,
                        "verifier",
                        "verifier",
                        "--broker",
                        broker.url(),
                        "--fleet",
                        "e2e",
                        "--allow-emulated",
                        "--require-nonce",
                        "--state-dir",
                        dir.resolve("verifier").toString())) {
            verifier.awaitLogged("connected to", Duration.ofSeconds(30));
            // The board trusts the verifier's receipt key, as the verifier's start-up line tells the operator.
            Path receiptKey = dir.resolve("verifier").resolve("receipt-key").resolve("device.pub");
            assertTrue(verifier.stderr().contains("--verifier-key " + receiptKey.toAbsolutePath()), verifier.stderr());
            try (ProspectorProcess agent = ProspectorProcess.start(
                    logs,
                    "agent",
                    "run",
                    "--broker",
                    broker.url(),
                    "--fleet",
                    "e2e",
                    "--data-dir",
                    dir.resolve("board").toString(),
                    "--board",
                    "emulated",
                    "--interval",
                    "300ms",
                    "--verifier-key",
                    receiptKey.toString())) {
                await("accepted answers")
                        .atMost(Duration.ofSeconds(60))
                        .until(() -> receipts.count("accepted") >= REPORTS || !agent.isAlive());
                assertTrue(agent.isAlive(), "agent died: " + agent.stderr());
            }
            var all = receipts.receipts();
            assertTrue(
                    all.stream().allMatch(r -> r.challenge().isPresent()),
                    "every receipt of a known device carries a challenge");
            long firstAccepted = all.stream()
                    .filter(Receipt::ok)
                    .mapToLong(r -> r.seq().orElseThrow())
                    .min()
                    .orElseThrow();
            for (Receipt r : all) {
                if (!r.ok()) {
                    assertEquals(ReasonCode.BAD_NONCE, r.reason().orElseThrow(), r.toString());
                    assertTrue(
                            r.seq().orElseThrow() < firstAccepted,
                            "only reports before the first answer are refused: " + all);
                }
            }
            assertTrue(
                    java.nio.file.Files.exists(dir.resolve("verifier").resolve("challenge.key")), "the secret is kept");
        }
    }

    /** A verifier with a device registry refuses a board that is not in it, and says why in the receipt. */
    @Test
    void aVerifierWithARegistryRefusesBoardsNotListed() throws Exception {
        Path logs = dir.resolve("logs");
        Path board = dir.resolve("board");
        try (var keygen = ProspectorProcess.start(logs, "keygen", "keygen", "--dir", board.toString())) {
            await("keygen").atMost(Duration.ofSeconds(30)).until(() -> !keygen.isAlive());
        }
        assertTrue(java.nio.file.Files.exists(board.resolve("device.key")), "the board has its key");
        String listed = dev.prospector.attest.DeviceKeys.generate().deviceId().value();
        Path registry = dir.resolve("devices.txt");
        java.nio.file.Files.writeString(registry, "# the only board allowed\n" + listed + "\n");
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"));
                ReceiptWatcher receipts = new ReceiptWatcher(broker.url(), "e2e");
                ProspectorProcess verifier = ProspectorProcess.start(
                        logs,
                        "verifier",
                        "verifier",
                        "--broker",
                        broker.url(),
                        "--fleet",
                        "e2e",
                        "--allow-emulated",
                        "--registry",
                        registry.toString())) {
            await("verifier connected")
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> verifier.stderr().contains("connected to") || !verifier.isAlive());
            assertTrue(verifier.stderr().contains("1 device(s)"), verifier.stderr());
            try (ProspectorProcess agent = ProspectorProcess.start(
                    logs,
                    "agent",
                    "run",
                    "--broker",
                    broker.url(),
                    "--fleet",
                    "e2e",
                    "--data-dir",
                    board.toString(),
                    "--board",
                    "emulated",
                    "--interval",
                    "300ms")) {
                await("receipts")
                        .atMost(Duration.ofSeconds(60))
                        .until(() -> receipts.count("rejected") >= 2 || !agent.isAlive());
                assertTrue(agent.isAlive(), "agent died: " + agent.stderr());
            }
            assertEquals(0, receipts.count("accepted"), () -> "accepted: " + receipts.receipts());
            assertTrue(
                    receipts.receipts().stream().allMatch(r -> r.reason().orElseThrow() == ReasonCode.UNKNOWN_DEVICE),
                    () -> "reasons: " + receipts.receipts());
        }
    }

    private void runAgentAndVerifier(String url) {
        runAgentAndVerifier(url, Optional.empty());
    }

    private void runAgentAndVerifier(String url, Optional<TlsSettings> tls, String... security) {
        Path logs = dir.resolve("logs");
        try (ReceiptWatcher receipts = new ReceiptWatcher(url, "e2e", tls);
                ProspectorProcess verifier = ProspectorProcess.start(
                        logs,
                        "verifier",
                        with(security, "verifier", "--broker", url, "--fleet", "e2e", "--allow-emulated"))) {
            verifier.awaitLogged("connected to", Duration.ofSeconds(30));
            try (ProspectorProcess agent = ProspectorProcess.start(
                    logs,
                    "agent",
                    with(
                            security,
                            "run",
                            "--broker",
                            url,
                            "--fleet",
                            "e2e",
                            "--data-dir",
                            dir.resolve("board").toString(),
                            "--board",
                            "emulated",
                            "--interval",
                            "300ms"))) {
                await("receipts for " + REPORTS + " reports")
                        .atMost(Duration.ofSeconds(60))
                        .until(() -> receipts.count("accepted") >= REPORTS || !agent.isAlive());
                assertTrue(agent.isAlive(), "agent died: " + agent.stderr());
            }
            assertEquals(0, receipts.count("rejected"), () -> "rejections: " + receipts.receipts());
            assertTrue(verifier.stderr().contains("accepted"), "verifier logs one line per accepted report");
        }
    }

    private static String[] with(String[] extra, String... args) {
        return Stream.concat(Arrays.stream(args), Arrays.stream(extra)).toArray(String[]::new);
    }
}
