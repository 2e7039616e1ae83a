package dev.prospector.kafka;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.testing.LocalStack;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.testing.ProspectorProcess;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.verifier.OutcomeLog;
import dev.prospector.agent.verifier.VerifierWiring;
import dev.prospector.attest.ChallengeStore;
import dev.prospector.attest.DeviceKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 16's chaos test: 50 emulated boards, 2 bridges and 3 Kafka verifiers (each a child JVM
 * running the program), Mosquitto and a real KRaft broker. Mid-run one verifier and one bridge are
 * killed with SIGKILL (and started again), and Mosquitto is restarted once (its sessions and queues
 * are lost: the boards send what has no receipt again). Then every report the boards made must be
 * accepted exactly once, counted from the acceptance topic; the counts are printed.
 */
class KafkaChaosIT {
    static final String FLEET = "chaos";
    static final int BOARDS = 50;
    static final int PARTITIONS = 6;
    static final Duration INTERVAL = Duration.ofMillis(500);

    @TempDir
    Path dir;

    @Test
    void everyReportIsAcceptedExactlyOnceThroughKillsAndABrokerRestart() throws Exception {
        try (Mosquitto mqtt = Mosquitto.start(dir.resolve("mosquitto"), "max_queued_messages 100000");
                KafkaBroker kafka = KafkaBroker.start(dir.resolve("kafka"))) {
            String url = mqtt.url();
            assertEquals(PARTITIONS, KafkaTopics.ensure(kafka.bootstrap(), FLEET, PARTITIONS, (short) 1));
            // One receipt key and one challenge secret for the whole group.
            Path receiptKey = dir.resolve("receipt-key");
            DeviceKeys key = DeviceKeys.generate();
            key.write(receiptKey);
            Path pem = dir.resolve("verifier.pub");
            LocalStack.writePublicKeyPem(pem, key.publicKey());
            List<Path> states = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Path state = Files.createDirectories(dir.resolve("verifier-" + i));
                states.add(state);
            }
            ChallengeStore.secretIn(states.get(0).resolve(VerifierWiring.CHALLENGE_SECRET_FILE));
            for (int i = 1; i < 3; i++) {
                Path to = states.get(i).resolve(VerifierWiring.CHALLENGE_SECRET_FILE);
                Files.copy(states.get(0).resolve(VerifierWiring.CHALLENGE_SECRET_FILE), to);
                Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("rw-------"));
            }
            Path logs = dir.resolve("logs");
            Map<String, ProspectorProcess> procs = new HashMap<>();
            List<AgentNode> boards = new ArrayList<>();
            try {
                for (int b = 0; b < 2; b++) {
                    procs.put("bridge-" + b, bridge(logs, url, kafka, b, 0));
                }
                long started = System.nanoTime();
                for (int v = 0; v < 3; v++) {
                    procs.put("verifier-" + v, verifier(logs, url, kafka, v, states.get(v), receiptKey, 0));
                }
                for (int i = 0; i < BOARDS; i++) {
                    AgentNode board = AgentWiring.agent(
                            AgentWiring.RunSettings.emulated(
                                            BrokerUrl.parse(url), FLEET, dir.resolve("board-" + i), INTERVAL)
                                    .withVerifierKeys(List.of(pem))
                                    .withReceiptTimeout(Duration.ofSeconds(5)),
                            Clock.systemUTC());
                    boards.add(board);
                    board.start();
                }
                LongAdder accepted = new LongAdder();
                await("the first verdicts")
                        .atMost(Duration.ofSeconds(90))
                        .pollInterval(Duration.ofSeconds(1))
                        .until(() -> boards.stream()
                                        .mapToLong(b -> b.stats().delivered())
                                        .sum()
                                >= BOARDS);
                long t0 = System.nanoTime();
                TimeUnit.SECONDS.sleep(4);
                System.out.println("chaos: kill -9 verifier-0");
                procs.get("verifier-0").kill();
                TimeUnit.SECONDS.sleep(3);
                procs.put("verifier-0", verifier(logs, url, kafka, 0, states.get(0), receiptKey, 1));
                TimeUnit.SECONDS.sleep(3);
                System.out.println("chaos: kill -9 bridge-0");
                procs.get("bridge-0").kill();
                TimeUnit.SECONDS.sleep(2);
                procs.put("bridge-0", bridge(logs, url, kafka, 0, 1));
                TimeUnit.SECONDS.sleep(3);
                System.out.println("chaos: restart Mosquitto");
                mqtt.restart();
                TimeUnit.SECONDS.sleep(6);
                boards.forEach(AgentNode::stopReporting);
                System.out.printf("chaos: boards stopped reporting after %.0f s%n", (System.nanoTime() - t0) / 1e9);
                await("every report's receipt")
                        .atMost(Duration.ofSeconds(120))
                        .conditionEvaluationListener(c -> {
                            if (!c.isSatisfied() && c.getElapsedTimeInMS() > 110_000) {
                                boards.stream()
                                        .filter(b -> b.stats().pending() > 0)
                                        .forEach(b -> System.out.println(
                                                "chaos: still pending: " + b.device() + " " + b.stats()));
                            }
                        })
                        .pollInterval(Duration.ofSeconds(1))
                        .until(() -> boards.stream().allMatch(b -> b.stats().pending() == 0));
                long made = boards.stream().mapToLong(b -> b.stats().made()).sum();
                long lost = boards.stream().mapToLong(b -> b.stats().lost()).sum();
                long publishes =
                        boards.stream().mapToLong(b -> b.stats().publishes()).sum();
                Map<String, Integer> verdicts = new HashMap<>();
                List<Verdict> rejected = new ArrayList<>();
                await("the acceptance topic has every report")
                        .atMost(Duration.ofSeconds(30))
                        .conditionEvaluationListener(c -> {
                            if (!c.isSatisfied() && c.getElapsedTimeInMS() > 25_000) {
                                System.out.printf(
                                        "chaos: acceptance topic: %d distinct reports accepted of %d made, %d rejected;"
                                                + " %d lost at the boards (refused)%n",
                                        verdicts.size(), made, rejected.size(), lost);
                            }
                        })
                        .pollInterval(Duration.ofSeconds(1))
                        .until(() -> {
                            verdicts.clear();
                            rejected.clear();
                            KafkaExactlyOnceIT.readVerdicts(kafka, PARTITIONS, FLEET, verdicts, rejected);
                            return verdicts.size() >= made;
                        });
                long twice = verdicts.values().stream().filter(n -> n > 1).count();
                accepted.add(verdicts.size());
                System.out.printf(
                        "chaos: %d boards made %d reports (%d publishes with re-sends, %d lost at the boards);"
                                + " acceptance topic: %d distinct reports accepted, %d accepted more than once, %d rejected%n",
                        BOARDS, made, publishes, lost, accepted.sum(), twice, rejected.size());
                // A copy of a report sent again can be refused after the report itself was accepted
                // (a replay, or stale): it loses nothing. Said, so that a rise shows.
                rejected.forEach(v -> System.out.printf(
                        "chaos: rejected %s seq %d: %s (by %s)%n", v.device(), v.seq(), v.reason(), v.verifier()));
                assertEquals(0, lost, "no report lost at the boards");
                assertEquals(made, accepted.sum(), "every report made was accepted");
                assertEquals(0, twice, "no report accepted twice");
                assertTrue(made >= BOARDS * 20L, "the run made reports throughout: " + made);
                // The verifiers that ran throughout log their acceptances, capped as the MQTT
                // verifier's are (OutcomeLog): lines plus the counts they carry, not a line each.
                long windows = (System.nanoTime() - started) / OutcomeLog.WINDOW.toNanos() + 2;
                for (String name : List.of("verifier-1", "verifier-2")) {
                    List<String> lines = procs.get(name)
                            .stderr()
                            .lines()
                            .filter(l -> l.contains(" INFO ") && l.contains("] accepted "))
                            .toList();
                    long counting = lines.stream()
                            .filter(l -> l.contains("more accepted since the previous such line"))
                            .count();
                    System.out.printf(
                            "chaos: %s logged %d acceptance line(s), %d of them counting the ones held back%n",
                            name, lines.size(), counting);
                    assertTrue(!lines.isEmpty(), name + " logs its acceptances");
                    assertTrue(
                            lines.size() <= OutcomeLog.LINES * windows,
                            name + ": " + lines.size() + " acceptance lines in " + windows + " windows");
                }
            } finally {
                boards.forEach(AgentNode::close);
                procs.values().forEach(ProspectorProcess::close);
            }
        }
    }

    private static ProspectorProcess bridge(Path logs, String url, KafkaBroker kafka, int i, int run) {
        return ProspectorProcess.start(
                logs,
                "bridge-" + i + "-" + run,
                "bridge",
                "--broker",
                url,
                "--fleet",
                FLEET,
                "--kafka",
                kafka.bootstrap(),
                "--id",
                "bridge-" + i,
                "--kafka-partitions",
                String.valueOf(PARTITIONS),
                "--kafka-replication",
                "1");
    }

    private static ProspectorProcess verifier(
            Path logs, String url, KafkaBroker kafka, int i, Path state, Path receiptKey, int run) {
        return ProspectorProcess.start(
                logs,
                "verifier-" + i + "-" + run,
                "verifier",
                "--broker",
                url,
                "--fleet",
                FLEET,
                "--kafka",
                kafka.bootstrap(),
                "--group",
                "g",
                "--id",
                "verifier-" + i,
                "--state-dir",
                state.toString(),
                "--receipt-key-dir",
                receiptKey.toString(),
                "--allow-emulated",
                "--new-devices-per-minute",
                "0",
                "--kafka-partitions",
                String.valueOf(PARTITIONS),
                "--kafka-replication",
                "1");
    }
}
