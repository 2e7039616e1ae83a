package dev.prospector.agent.verifier;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.node.NodeStats;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.ProspectorProcess;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.DeviceId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
                ProspectorProcess verifier = verifier(broker, List.of("-Xmx64m", "-XX:+UseSerialGC"))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            verifier.awaitLogged("connected to", Duration.ofSeconds(60));

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
            try (AgentNode board = genuineBoard(url, Duration.ofMillis(200))) {
                board.start();
                await("the board's reports delivered")
                        .atMost(Duration.ofMinutes(3))
                        .until(() -> board.stats().delivered() >= 5 || !verifier.isAlive());
                assertTrue(verifier.isAlive(), () -> "the verifier died: " + tail(verifier.stderr()));
                var s = settle(board);
                long rssKb = rssKb(verifier.pid());
                System.out.printf(
                        "garbage flood: tried %d messages on distinct topics in %.1f s (half 1 KB non-device segments,"
                                + " half distinct device ids with garbage); verifier (-Xmx64m) alive, resident %d MB; the genuine"
                                + " board made %d, delivered %d, rejected %d, lost %d%n",
                        MESSAGES, seconds, rssKb / 1024, s.made(), s.delivered(), s.rejected(), s.lost());
                assertNothingLost(s);
            }
            assertTrue(!verifier.stderr().contains("OutOfMemoryError"), () -> tail(verifier.stderr()));
        }
    }

    /**
     * Junk on a genuine board's own report topic: the verifier tracks that device, so each refusal
     * was a warning of its own, and anyone who can publish on the broker could fill the verifier's
     * log (and push journald past its rate limit, which then drops every service line alike). The
     * refusals are logged at most {@link OutcomeLog#LINES} in each {@link
     * OutcomeLog#WINDOW}; the next line lets through says how many were held back, so the
     * lines plus the counts they carry add up to every message refused.
     */
    @Test
    void junkOnAGenuineBoardsTopicIsCountedNotLoggedLineByLine() throws Exception {
        int junk = 20_000;
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"));
                ProspectorProcess verifier = verifier(broker, ProspectorProcess.DEFAULT_JVM_OPTIONS)) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            verifier.awaitLogged("connected to", Duration.ofSeconds(60));
            long start = System.nanoTime();
            AtomicInteger extra = new AtomicInteger();
            try (AgentNode board = genuineBoard(url, Duration.ofMillis(500));
                    MqttLink attacker = new MqttLink(
                            MqttSettings.of(url, "attacker").withSessionExpiry(Duration.ZERO),
                            Optional.empty(),
                            (t, p) -> {})) {
                board.start();
                await("the board is tracked")
                        .atMost(Duration.ofMinutes(1))
                        .until(() -> board.stats().delivered() >= 1);
                attacker.connect();
                String topic = Topics.report(FLEET, board.device());
                byte[] garbage = new byte[64];
                Random random = new Random(3);
                List<CompletableFuture<Void>> sent = new ArrayList<>();
                for (int i = 0; i < junk; i++) {
                    random.nextBytes(garbage);
                    sent.add(attacker.publish(topic, garbage.clone(), 1, false));
                }
                CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get();
                // The board's reports made from now on reach the verifier behind the junk, on the
                // same appraisal worker (one device, one worker, in order).
                long made = board.stats().made();
                await("the board's reports behind the junk delivered")
                        .atMost(Duration.ofMinutes(2))
                        .until(() -> board.stats().delivered() >= made + 2 || !verifier.isAlive());
                assertTrue(verifier.isAlive(), () -> tail(verifier.stderr()));
                // One more junk message a second until a refusal line carries the count held back.
                await("a line that says how many refusals were held back")
                        .atMost(OutcomeLog.WINDOW.multipliedBy(3))
                        .pollInterval(Duration.ofSeconds(1))
                        .until(() -> {
                            extra.incrementAndGet();
                            attacker.publish(topic, new byte[] {9, 9, 9}, 1, false)
                                    .get();
                            return HELD.matcher(verifier.stderr()).find();
                        });
                assertNothingLost(settle(board));
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            List<String> refusedLines = verifier.stderr()
                    .lines()
                    .filter(l -> l.contains("WARN") && l.contains("rejected"))
                    .toList();
            long counted = 0;
            for (String line : refusedLines) {
                Matcher m = HELD.matcher(line);
                if (m.find()) {
                    counted += Long.parseLong(m.group(1));
                }
            }
            long windows = (long) Math.ceil(seconds / OutcomeLog.WINDOW.toSeconds()) + 1;
            System.out.printf(
                    "junk on a genuine board's topic: tried %d junk messages (and %d more, one a second, after them)"
                            + " in %.0f s; refused each, logged %d warning line(s) carrying %d more refusal(s) held"
                            + " back; the board's reports: none lost%n",
                    junk, extra.get(), seconds, refusedLines.size(), counted);
            assertTrue(
                    refusedLines.size() <= OutcomeLog.LINES * windows,
                    refusedLines.size() + " warning lines in " + windows + " windows");
            assertTrue(
                    refusedLines.size() + counted <= junk + extra.get() && refusedLines.size() + counted >= junk + 1,
                    "the lines and the counts they carry add up to the refusals: " + (refusedLines.size() + counted)
                            + " of " + junk + " + " + extra.get());
        }
    }

    /** The verifier, as a user runs it, with its state (and receipt key) in {@code dir/state}. */
    private ProspectorProcess verifier(Mosquitto broker, List<String> jvmOptions) {
        return ProspectorProcess.start(
                jvmOptions,
                dir.resolve("logs"),
                "verifier",
                "verifier",
                "--broker",
                broker.url(),
                "--fleet",
                FLEET,
                "--allow-emulated",
                "--state-dir",
                dir.resolve("state").toString());
    }

    /** An emulated board reporting every {@code interval}, trusting the verifier's receipt key; call {@code start()}. */
    private AgentNode genuineBoard(BrokerUrl url, Duration interval) {
        Path pem = dir.resolve("state").resolve("receipt-key").resolve("device.pub");
        var settings = AgentWiring.RunSettings.emulated(url, FLEET, dir.resolve("board"), interval)
                .withVerifierKeys(List.of(pem))
                .withReceiptTimeout(Duration.ofSeconds(2));
        return AgentWiring.agent(settings, Clock.systemUTC());
    }

    /** Stops the board's reporting and waits until every report it made is settled; its counts then. */
    private static NodeStats settle(AgentNode board) {
        board.stopReporting();
        await("settled").atMost(Duration.ofMinutes(1)).until(() -> board.stats().pending() == 0);
        return board.stats();
    }

    private static void assertNothingLost(NodeStats s) {
        assertEquals(s.made(), s.delivered(), "every genuine report accepted");
        assertEquals(0, s.rejected());
        assertEquals(0, s.lost());
    }

    /** The part of a line that says how many refusals were held back before it. */
    private static final Pattern HELD = Pattern.compile("; (\\d+) more refused since the previous such line");

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
