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
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.verifier.AuditOutcome;
import dev.prospector.agent.verifier.ProofOfService;
import dev.prospector.agent.verifier.ServiceSettings;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ChallengeStore;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Limits;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proofs of service in a Kafka verifier group, against a real KRaft broker, a real Mosquitto and
 * real boards with plots: audits are asked in receipts and pass; when a verifier leaves, the other
 * takes its partitions with each device's audits, reputation and open uptime (from the service
 * topic), and the devices' audits go on passing there; the epoch's rewards are due once per device
 * on the rewards topic.
 */
class KafkaProofOfServiceIT {
    static final String FLEET = "kpos";
    static final int BOARDS = 4;
    /** The epoch the test's boards report in ends this long after the judges are set up. */
    static final Duration EPOCH_LEFT = Duration.ofSeconds(30);
    /** Audits passed for every board before a verifier leaves. */
    static final int AUDITS_BEFORE = 3;

    @TempDir
    Path dir;

    @Test
    void auditsPassAcrossAPartitionMoveAndEachDeviceIsDueItsEpochOnce() throws Exception {
        try (Mosquitto mqtt = Mosquitto.start(dir.resolve("mosquitto"));
                KafkaBroker kafka = KafkaBroker.start(dir.resolve("kafka"))) {
            BrokerUrl url = BrokerUrl.parse(mqtt.url());
            int partitions = KafkaTopics.ensure(kafka.bootstrap(), FLEET, 4, (short) 1);
            byte[] secret = new byte[32];
            new java.security.SecureRandom().nextBytes(secret);
            AppraiserConfig config = AppraiserConfig.defaults()
                    .withFleet(FLEET)
                    .withAllowEmulated(true)
                    .withChallenges(new ChallengeStore(Clock.systemUTC(), Limits.CHALLENGE_TTL, secret), false);
            DeviceKeys receiptKey = DeviceKeys.generate();
            Path pem = dir.resolve("receipt.pub");
            LocalStack.writePublicKeyPem(pem, receiptKey.publicKey());

            // Audits every 3 s (each answered at once), a 1-minute epoch that ends soon, a 5 s uptime gap.
            Instant origin = Instant.now().plus(EPOCH_LEFT).minus(Duration.ofMinutes(1));
            ServiceSettings proofs = new ServiceSettings(
                            Duration.ofSeconds(3),
                            8,
                            Duration.ofSeconds(10),
                            Duration.ofHours(6),
                            Duration.ofMinutes(1),
                            Duration.ofSeconds(5),
                            1L << 30,
                            1000,
                            List.of(),
                            0,
                            "127.0.0.1",
                            64L << 20)
                    .withEpochOrigin(origin);

            List<MqttLink> links = new ArrayList<>();
            List<KafkaVerifier> verifiers = new ArrayList<>();
            List<AgentNode> boards = new ArrayList<>();
            Bridge bridge = new Bridge(
                    FLEET,
                    "bridges",
                    MqttSettings.of(url, "bridge-0").withSessionExpiry(Duration.ofHours(1)),
                    kafka.bootstrap(),
                    partitions);
            try {
                bridge.connect();
                for (int v = 0; v < 2; v++) {
                    MqttLink link = new MqttLink(
                            MqttSettings.of(url, "v" + v + "-receipts").withSessionExpiry(Duration.ZERO),
                            Optional.empty(),
                            (t, p) -> {});
                    link.connect();
                    links.add(link);
                    KafkaVerifier verifier = new KafkaVerifier(
                            FLEET,
                            kafka.bootstrap(),
                            "g",
                            "v" + v,
                            () -> new Appraiser(config),
                            receiptKey,
                            Optional.of(link),
                            2,
                            Optional.of(dues -> ProofOfService.partitioned(
                                    proofs, Clock.systemUTC(), Limits.CHALLENGE_TTL, List.of(), dues)));
                    verifier.start();
                    verifiers.add(verifier);
                }
                for (int i = 0; i < BOARDS; i++) {
                    AgentNode board = AgentWiring.agent(
                            AgentWiring.RunSettings.emulated(
                                            url, FLEET, dir.resolve("board-" + i), Duration.ofSeconds(1))
                                    .withVerifierKeys(List.of(pem))
                                    .withProofs(AgentWiring.ProofSettings.OFF.withPlot(256L << 10)),
                            Clock.systemUTC());
                    boards.add(board);
                }
                for (AgentNode board : boards) {
                    await("board " + board.device() + "'s plot")
                            .atMost(Duration.ofSeconds(60))
                            .until(() -> board.plot().commitment().isPresent());
                    board.start();
                }
                List<String> devices = boards.stream().map(AgentNode::device).toList();

                await(AUDITS_BEFORE + " audits passed for every board")
                        .atMost(Duration.ofSeconds(90))
                        .pollInterval(Duration.ofMillis(500))
                        .until(() -> devices.stream()
                                .allMatch(d -> audits(verifiers, d, AuditOutcome.SUCCESS) >= AUDITS_BEFORE));
                Map<String, Long> before = new HashMap<>();
                devices.forEach(d -> before.put(d, audits(verifiers, d, AuditOutcome.SUCCESS)));
                System.out.printf(
                        "audits passed before the move: %s; v0 holds %s, v1 %s%n",
                        before.values(),
                        verifiers.get(0).heldPartitions(),
                        verifiers.get(1).heldPartitions());

                System.out.println("v0 leaves the group: its partitions move to v1");
                verifiers.remove(0).close();
                KafkaVerifier v1 = verifiers.get(0);
                await("v1 holds every partition")
                        .atMost(Duration.ofSeconds(60))
                        .until(() -> v1.heldPartitions().size() == partitions
                                && v1.proofs().isPresent());
                // Its judge is fresh, its devices' state read from the service topic: the audits counted
                // before are there at once (a fresh count would be 0, or 1 had an audit passed since).
                for (String d : devices) {
                    assertTrue(
                            audits(verifiers, d, AuditOutcome.SUCCESS) >= before.get(d),
                            d + ": " + audits(verifiers, d, AuditOutcome.SUCCESS) + " audits passed on v1 right after"
                                    + " the move, " + before.get(d) + " before it");
                }
                await("more audits passed on v1, counted on from each device's state before the move")
                        .atMost(Duration.ofSeconds(90))
                        .pollInterval(Duration.ofMillis(500))
                        .until(() -> devices.stream()
                                .allMatch(d -> audits(verifiers, d, AuditOutcome.SUCCESS) > before.get(d)));

                Map<String, List<RewardDue>> due = new TreeMap<>();
                // The epoch under way closes EPOCH_LEFT after the set-up (plus the 5 s gap); on a slow
                // machine whose boards began after it, the next one does, a minute later.
                await("an epoch closed: a reward due for every board")
                        .atMost(EPOCH_LEFT.plus(Duration.ofSeconds(90)))
                        .pollInterval(Duration.ofSeconds(1))
                        .until(() -> {
                            due.clear();
                            readDues(kafka, partitions)
                                    .forEach(r -> due.computeIfAbsent(r.device(), k -> new ArrayList<>())
                                            .add(r));
                            return devices.stream().allMatch(due::containsKey);
                        });
                System.out.printf("%-28s %8s %8s %8s %8s %s%n", "device", "passed", "failed", "offline", "late", "due");
                for (String d : devices) {
                    System.out.printf(
                            "%-28s %8d %8d %8d %8d %s%n",
                            d,
                            audits(verifiers, d, AuditOutcome.SUCCESS),
                            audits(verifiers, d, AuditOutcome.FAILURE),
                            audits(verifiers, d, AuditOutcome.OFFLINE),
                            audits(verifiers, d, AuditOutcome.CONTAINED),
                            due.get(d).stream()
                                    .map(r -> "epoch " + r.epoch() + ": " + r.amount() + " by " + r.verifier())
                                    .toList());
                }
                for (String d : devices) {
                    assertEquals(
                            0, audits(verifiers, d, AuditOutcome.FAILURE), d + ": no audit of an honest board failed");
                    List<Long> epochs =
                            due.get(d).stream().map(RewardDue::epoch).toList();
                    assertEquals(
                            epochs.stream().distinct().count(), epochs.size(), d + ": an epoch due twice: " + epochs);
                    for (RewardDue r : due.get(d)) {
                        assertTrue(r.amount() > 0, d + ": " + r);
                        assertTrue(r.score() > 0 && r.score() <= 1, d + ": " + r);
                    }
                }

                // `prospector payer` pays each of them once, in nonce order, and stops at SIGTERM.
                Map<String, Long> dueNow = new HashMap<>();
                readDues(kafka, partitions).forEach(r -> dueNow.put(r.device() + "#" + r.epoch(), r.amount()));
                try (ProspectorProcess payer = ProspectorProcess.start(
                        dir.resolve("logs"),
                        "payer",
                        "payer",
                        "--fleet",
                        FLEET,
                        "--kafka",
                        kafka.bootstrap(),
                        "--state-dir",
                        dir.resolve("payer").toString(),
                        "--kafka-replication",
                        "1")) {
                    Map<String, List<Long>> paid = new TreeMap<>();
                    await("the payer paid every due")
                            .atMost(Duration.ofSeconds(60))
                            .pollInterval(Duration.ofMillis(500))
                            .until(() -> {
                                paid.clear();
                                kafka.readCommitted(KafkaTopics.payments(FLEET), 1, r -> {
                                    var m = com.upokecenter.cbor.CBORObject.DecodeFromBytes(r.value());
                                    assertEquals(
                                            dueNow.get(r.key()), m.get("amount").AsInt64Value(), r.key());
                                    paid.computeIfAbsent(r.key(), k -> new ArrayList<>())
                                            .add(m.get("nonce").AsInt64Value());
                                });
                                return paid.keySet().containsAll(dueNow.keySet());
                            });
                    payer.stop();
                    System.out.println("payments: " + paid + "; the payer's exit: " + payer.exitCode());
                    List<Long> nonces = paid.values().stream()
                            .flatMap(List::stream)
                            .sorted()
                            .toList();
                    assertEquals(dueNow.keySet(), paid.keySet(), "a payment of no due");
                    assertEquals(
                            java.util.stream.LongStream.range(0, nonces.size())
                                    .boxed()
                                    .toList(),
                            nonces,
                            "each due paid once, nonces from 0 without a gap");
                    assertEquals(0, payer.exitCode(), payer.stderr());
                }
            } finally {
                boards.forEach(AgentNode::close);
                verifiers.forEach(KafkaVerifier::close);
                bridge.close();
                links.forEach(MqttLink::close);
            }
        }
    }

    /** A device's audits of one outcome, as the judge holding it now counts them (0 when none does). */
    private static long audits(List<KafkaVerifier> verifiers, String device, AuditOutcome outcome) {
        for (KafkaVerifier v : verifiers) {
            Optional<ProofOfService.DeviceScore> score =
                    v.proofs().flatMap(j -> Optional.ofNullable(j.scores().get(device)));
            if (score.isPresent()) {
                return score.get().audits().getOrDefault(outcome, 0L);
            }
        }
        return 0;
    }

    /** Every committed record of the rewards topic. */
    private static List<RewardDue> readDues(KafkaBroker kafka, int partitions) {
        List<RewardDue> out = new ArrayList<>();
        kafka.readCommitted(
                KafkaTopics.rewards(FLEET),
                partitions,
                r -> RewardDue.decode(r.value()).ifPresent(out::add));
        return out;
    }
}
