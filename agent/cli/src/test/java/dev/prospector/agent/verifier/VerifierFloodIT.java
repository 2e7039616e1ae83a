package dev.prospector.agent.verifier;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.ProspectorProcess;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.attest.DeviceId;
import dev.prospector.hardware.BoardSelection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 100,000 garbage messages on distinct topics against a verifier whose heap is capped at 64 MB (a
 * 30 KB topic once grew its heap from 9 to 68 MB; one map entry per topic would not fit): half
 * with a 1 KB topic segment that is no device id, half with a distinct, well-formed device id and
 * a payload that is no report. The verifier must stay up, keep its state bounded, and still accept
 * a genuine board's reports, every one of them, once.
 */
class VerifierFloodIT {
    private static final String FLEET = "flood";
    private static final int MESSAGES = 100_000;
    private static final int ATTACKERS = 4;

    @TempDir
    Path dir;

    @Test
    void oneHundredThousandGarbageMessagesOnDistinctTopicsLeaveABoundedVerifierServingAGenuineBoard() throws Exception {
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"));
                ProspectorProcess verifier = ProspectorProcess.start(
                        List.of("-Xmx64m", "-XX:+UseSerialGC"),
                        dir.resolve("logs"),
                        "verifier",
                        "verifier",
                        "--broker",
                        broker.url(),
                        "--fleet",
                        FLEET,
                        "--allow-emulated",
                        "--state-dir",
                        dir.resolve("state").toString())) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            await("verifier connected")
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> verifier.stderr().contains("connected to") || !verifier.isAlive());
            assertTrue(verifier.isAlive(), verifier::stderr);

            long start = System.nanoTime();
            List<CompletableFuture<Void>> done = new ArrayList<>();
            List<MqttLink> attackers = new ArrayList<>();
            for (int a = 0; a < ATTACKERS; a++) {
                MqttLink link = new MqttLink(
                        MqttSettings.of(url, "attacker-" + a).withSessionExpiry(Duration.ZERO),
                        Optional.empty(),
                        (t, p) -> {});
                link.connect();
                attackers.add(link);
            }
            Random random = new Random(7);
            String padding = "x".repeat(1000);
            byte[] garbage = new byte[100];
            for (int i = 0; i < MESSAGES; i++) {
                String segment;
                if (i % 2 == 0) {
                    segment = "junk" + i + padding;
                } else {
                    byte[] key = new byte[32];
                    random.nextBytes(key);
                    segment = DeviceId.of(key).value();
                }
                random.nextBytes(garbage);
                CompletableFuture<Void> f = attackers
                        .get(i % ATTACKERS)
                        .publish("prospector/v1/" + FLEET + "/" + segment + "/report", garbage.clone(), 1, false);
                if (i % 1000 == 999) {
                    done.add(f);
                }
            }
            CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get();
            double seconds = (System.nanoTime() - start) / 1e9;
            attackers.forEach(MqttLink::close);

            // A genuine board, after the flood, trusting the verifier's receipt key.
            Path pem = dir.resolve("state").resolve("receipt-key").resolve("device.pub");
            var settings = new AgentWiring.RunSettings(
                            url,
                            FLEET,
                            dir.resolve("board"),
                            BoardSelection.EMULATED,
                            Duration.ofMillis(200),
                            AgentWiring.DEFAULT_OUTBOX_BYTES,
                            1,
                            Set.of())
                    .withVerifierKeys(List.of(pem))
                    .withReceiptTimeout(Duration.ofSeconds(2));
            try (AgentNode board = AgentWiring.agent(settings, Clock.systemUTC())) {
                board.start();
                await("the board's reports delivered")
                        .atMost(Duration.ofMinutes(3))
                        .until(() -> board.stats().delivered() >= 5 || !verifier.isAlive());
                assertTrue(verifier.isAlive(), () -> "the verifier died: " + tail(verifier.stderr()));
                board.stopReporting();
                await("settled")
                        .atMost(Duration.ofMinutes(1))
                        .until(() -> board.stats().pending() == 0);
                var s = board.stats();
                long rssKb = rssKb(verifier.pid());
                System.out.printf(
                        "garbage flood: tried %d messages on distinct topics in %.1f s (half 1 KB non-device segments,"
                                + " half distinct device ids with garbage); verifier (-Xmx64m) alive, resident %d MB; the genuine"
                                + " board made %d, delivered %d, rejected %d, lost %d%n",
                        MESSAGES, seconds, rssKb / 1024, s.made(), s.delivered(), s.rejected(), s.lost());
                assertEquals(s.made(), s.delivered(), "every genuine report accepted");
                assertEquals(0, s.rejected());
                assertEquals(0, s.lost());
            }
            assertTrue(!verifier.stderr().contains("OutOfMemoryError"), () -> tail(verifier.stderr()));
        }
    }

    private static long rssKb(long pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    private static String tail(String s) {
        return s.length() <= 4000 ? s : s.substring(s.length() - 4000);
    }
}
