package dev.prospector.agent.transport;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.node.NodeStats;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.verifier.VerifierService;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ChallengeStore;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Limits;
import dev.prospector.attest.ReasonCode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Mosquitto restart (in-memory broker: every session and queue lost) while many in-process
 * boards publish fast: each board must reconnect and deliver every report it made. Paho 1.2.5
 * replaces the topic of a repeated PUBLISH by an MQTT 5 topic alias and keeps that alias-only
 * packet as its in-flight copy; re-sent on a new connection, where no alias is defined, Mosquitto
 * answers with a protocol error (DISCONNECT 0x82) at every reconnect, for ever. The broker runs
 * with {@code log_type all}; its log is printed in part when the test fails.
 */
class BrokerRestartIT {
    private static final String FLEET = "restart";
    private static final int BOARDS = 20;

    @TempDir
    Path dir;

    @Test
    void everyBoardDeliversEveryReportAfterTheBrokerRestarts() throws Exception {
        DeviceKeys receiptKey = DeviceKeys.generate();
        Path pub = dir.resolve("verifier.pub");
        Files.writeString(pub, receiptKey.publicPem());
        Appraiser appraiser = new Appraiser(AppraiserConfig.defaults()
                .withFleet(FLEET)
                .withAllowEmulated(true)
                .withChallenges(new ChallengeStore(Clock.systemUTC(), Limits.CHALLENGE_TTL), false));
        Path brokerDir = dir.resolve("mosquitto");
        try (Mosquitto broker = Mosquitto.start(brokerDir, "persistence false\nlog_type all")) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            List<AgentNode> boards = new ArrayList<>();
            try (VerifierService verifier = new VerifierService(
                    FLEET,
                    appraiser,
                    receiptKey,
                    Optional.empty(),
                    VerifierService.links(MqttSettings.of(url, "verifier").withSessionExpiry(Duration.ZERO)))) {
                verifier.connect();
                for (int i = 0; i < BOARDS; i++) {
                    boards.add(board(url, "board-" + i, pub));
                }
                try {
                    await("every board connected and delivering")
                            .atMost(Duration.ofSeconds(60))
                            .until(() -> boards.stream().allMatch(b -> b.stats().delivered() >= 5));
                    broker.restart();
                    System.out.println("restart: Mosquitto restarted with no state");
                    await("every board reports after the restart")
                            .atMost(Duration.ofSeconds(60))
                            .until(() -> boards.stream().allMatch(b -> b.stats().made() >= 40));
                    boards.forEach(AgentNode::stopReporting);
                    try {
                        await("every board's outbox empty")
                                .atMost(Duration.ofSeconds(60))
                                .until(() ->
                                        boards.stream().allMatch(b -> b.stats().pending() == 0));
                    } catch (org.awaitility.core.ConditionTimeoutException e) {
                        for (AgentNode b : boards) {
                            if (b.stats().pending() > 0) {
                                System.out.println("restart: still pending: " + b.device() + " " + b.stats());
                            }
                        }
                        printProtocolErrors(brokerDir.resolve("mosquitto.log"));
                        throw e;
                    }
                    long made = 0;
                    long delivered = 0;
                    long refused = 0;
                    long publishes = 0;
                    for (AgentNode b : boards) {
                        NodeStats s = b.stats();
                        made += s.made();
                        delivered += s.delivered();
                        refused += s.rejected();
                        publishes += s.publishes();
                        assertEquals(0, s.lost(), "no report declared lost");
                    }
                    Appraiser.Stats verdicts = appraiser.stats();
                    System.out.printf(
                            "restart: %d boards made %d reports, published %d (with re-sends); receipts: %d accepted,"
                                    + " %d refused (%s); verifier accepted %d, duplicates answered %d;"
                                    + " protocol errors in the broker's log %d%n",
                            BOARDS,
                            made,
                            publishes,
                            delivered,
                            refused,
                            verdicts.rejected().entrySet().stream()
                                    .filter(e -> e.getValue() > 0)
                                    .toList(),
                            verdicts.accepted(),
                            verdicts.duplicates(),
                            protocolErrors(brokerDir.resolve("mosquitto.log")).size());
                    // A report the broker lost (published before the verifier subscribed again), or
                    // whose receipt it lost, is sent again after the receipt timeout. Meanwhile the
                    // board sends newer reports only up to the verifier's replay window (32 seqs:
                    // 3.2 s here) past it, so the copy is accepted, or answered as a duplicate, and
                    // never refused as a replay (AgentNode's window of seqs; before it, this failed).
                    assertEquals(made, verdicts.accepted(), "every report made was accepted once");
                    assertEquals(0, refused, "no report refused (a late copy refused as a replay)");
                    assertEquals(
                            0L,
                            verdicts.rejected().getOrDefault(ReasonCode.REPLAY, 0L),
                            "no copy refused as a replay by the verifier");
                    assertEquals(made, delivered + refused, "every report left its outbox on a receipt");
                } finally {
                    boards.forEach(AgentNode::close);
                }
            }
        }
    }

    /**
     * The mechanism alone, step by step: a publish defines a topic alias and is acknowledged; the
     * broker is frozen (SIGSTOP) so the next publish on the same topic (sent by Paho as the alias
     * alone) stays unacknowledged; the broker is killed and started again with no state. The link
     * must deliver again after it reconnects.
     */
    @Test
    void aPublishInFlightAcrossABrokerRestartDoesNotWedgeTheLink() throws Exception {
        Path brokerDir = dir.resolve("mosquitto-probe");
        try (Mosquitto broker = Mosquitto.start(brokerDir, "persistence false\nlog_type all")) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            try (MqttLink link =
                    new MqttLink(MqttSettings.of(url, "alias-probe"), Optional.empty(), (topic, payload) -> {})) {
                link.connect();
                link.publish("probe/topic", "first".getBytes(), 1, false).get(10, TimeUnit.SECONDS);
                ProcessHandle mosquitto = ProcessHandle.allProcesses()
                        .filter(p -> p.info()
                                .arguments()
                                .map(a -> List.of(a)
                                        .contains(brokerDir
                                                .resolve("mosquitto.conf")
                                                .toString()))
                                .orElse(false))
                        .findFirst()
                        .orElseThrow(() -> new AssertionError("cannot find the mosquitto process"));
                signal("STOP", mosquitto);
                CompletableFuture<Void> second = link.publish("probe/topic", "second".getBytes(), 1, false);
                signal("KILL", mosquitto);
                await("mosquitto gone").atMost(Duration.ofSeconds(10)).until(() -> !mosquitto.isAlive());
                broker.restart();
                AtomicInteger tries = new AtomicInteger();
                try {
                    await("a publish acknowledged after the restart")
                            .atMost(Duration.ofSeconds(30))
                            .pollInterval(Duration.ofMillis(200))
                            .until(() -> {
                                tries.incrementAndGet();
                                try {
                                    link.publish("probe/topic", "third".getBytes(), 1, false)
                                            .get(2, TimeUnit.SECONDS);
                                    return true;
                                } catch (java.util.concurrent.ExecutionException
                                        | java.util.concurrent.TimeoutException e) {
                                    return false;
                                }
                            });
                } finally {
                    List<String> errors = protocolErrors(brokerDir.resolve("mosquitto.log"));
                    System.out.printf(
                            "restart probe: publish in flight at the kill %s; %d tries before one was"
                                    + " acknowledged after the restart; protocol errors in the broker's log %d%n",
                            second.isCompletedExceptionally() ? "failed (its caller sends it again)" : "pending",
                            tries.get(),
                            errors.size());
                    if (!errors.isEmpty()) {
                        printProtocolErrors(brokerDir.resolve("mosquitto.log"));
                    }
                }
                assertEquals(List.of(), protocolErrors(brokerDir.resolve("mosquitto.log")), "no protocol error");
            }
        }
    }

    private static void signal(String signal, ProcessHandle process) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid()))
                .inheritIO()
                .start();
        assertEquals(0, kill.waitFor(), "kill -" + signal);
    }

    private AgentNode board(BrokerUrl url, String name, Path verifierKey) {
        var settings = AgentWiring.RunSettings.emulated(url, FLEET, dir.resolve(name), Duration.ofMillis(100))
                .withVerifierKeys(List.of(verifierKey))
                .withReceiptTimeout(Duration.ofSeconds(1));
        AgentNode node = AgentWiring.agent(settings, Clock.systemUTC());
        node.start();
        return node;
    }

    private static List<String> protocolErrors(Path log) throws java.io.IOException {
        if (!Files.exists(log)) {
            return List.of();
        }
        return Files.readAllLines(log).stream()
                .filter(l -> l.contains("protocol error") || l.contains("Protocol error"))
                .toList();
    }

    /** Prints each protocol error the broker logged, with the lines of that client just before it. */
    private static void printProtocolErrors(Path log) throws java.io.IOException {
        if (!Files.exists(log)) {
            System.out.println("restart: no broker log at " + log);
            return;
        }
        List<String> lines = Files.readAllLines(log);
        int shown = 0;
        for (int i = 0; i < lines.size() && shown < 5; i++) {
            String l = lines.get(i);
            if (l.contains("protocol error") || l.contains("Protocol error")) {
                shown++;
                for (int j = Math.max(0, i - 8); j <= i; j++) {
                    System.out.println("restart: broker log: " + lines.get(j));
                }
            }
        }
        System.out.println(
                "restart: broker log " + log + ": " + protocolErrors(log).size() + " protocol errors");
    }
}
