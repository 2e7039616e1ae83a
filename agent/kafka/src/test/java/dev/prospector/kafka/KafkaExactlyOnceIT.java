package dev.prospector.kafka;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.ChallengeStore;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Limits;
import dev.prospector.attest.MeasurementClaim;
import dev.prospector.attest.ReportInput;
import dev.prospector.attest.ReportSigner;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bridges and verifiers of a Kafka group against a real KRaft broker and a real Mosquitto: every
 * report is accepted exactly once, counted from the acceptance topic, while one verifier leaves
 * mid-run and another joins (its partitions move, and the chain state with them), reports are sent
 * twice, and one device's reports reach Kafka in reverse order.
 */
class KafkaExactlyOnceIT {
    static final String FLEET = "kfleet";
    static final int DEVICES = 20;
    static final int PER_DEVICE = 10;

    @TempDir
    Path dir;

    static ReportInput input() {
        return new ReportInput(
                FLEET,
                Instant.now().truncatedTo(ChronoUnit.MILLIS),
                1,
                Optional.empty(),
                "boot",
                Duration.ofSeconds(60),
                List.of(new MeasurementClaim("uptime", 60, "s", "test")),
                "1.0",
                new byte[32]);
    }

    @Test
    void everyReportIsAcceptedOnceWhileVerifiersComeAndGo() throws Exception {
        try (Mosquitto mqtt = Mosquitto.start(dir.resolve("mosquitto"));
                KafkaBroker kafka = KafkaBroker.start(dir.resolve("kafka"))) {
            BrokerUrl url = BrokerUrl.parse(mqtt.url());
            int partitions = KafkaTopics.ensure(kafka.bootstrap(), FLEET, 4, (short) 1);
            assertEquals(4, partitions);
            byte[] secret = new byte[32];
            new java.security.SecureRandom().nextBytes(secret);
            ChallengeStore challenges = new ChallengeStore(Clock.systemUTC(), Limits.CHALLENGE_TTL, secret);
            AppraiserConfig config = AppraiserConfig.defaults().withFleet(FLEET).withChallenges(challenges, false);
            DeviceKeys receiptKey = DeviceKeys.generate();

            // Reports, signed up front: device 0's go out newest first (out of order).
            List<String> devices = new ArrayList<>();
            List<List<byte[]>> reports = new ArrayList<>();
            for (int d = 0; d < DEVICES; d++) {
                ReportSigner signer = new ReportSigner(DeviceKeys.generate(), ChainState.inMemory());
                devices.add(signer.keys().deviceId().value());
                List<byte[]> mine = new ArrayList<>();
                for (int i = 0; i < PER_DEVICE; i++) {
                    mine.add(signer.sign(input()).bytes());
                }
                reports.add(mine);
            }
            Collections.reverse(reports.get(0));

            List<Bridge> bridges = new ArrayList<>();
            List<KafkaVerifier> verifiers = new ArrayList<>();
            LongAdder seen = new LongAdder();
            try (MqttLink publisher = new MqttLink(
                    MqttSettings.of(url, "publisher").withSessionExpiry(Duration.ZERO),
                    Optional.empty(),
                    (t, p) -> {})) {
                for (int b = 0; b < 2; b++) {
                    Bridge bridge = new Bridge(
                            FLEET,
                            "bridges",
                            MqttSettings.of(url, "bridge-" + b).withSessionExpiry(Duration.ofHours(1)),
                            kafka.bootstrap(),
                            partitions);
                    bridge.connect();
                    bridges.add(bridge);
                }
                for (int v = 0; v < 2; v++) {
                    verifiers.add(verifier(kafka, "v" + v, config, receiptKey, seen));
                }
                publisher.connect();
                int sent = 0;
                int total = DEVICES * PER_DEVICE;
                for (int i = 0; i < PER_DEVICE; i++) {
                    for (int d = 0; d < DEVICES; d++) {
                        publisher
                                .publish(
                                        Topics.report(FLEET, devices.get(d)),
                                        reports.get(d).get(i),
                                        1,
                                        false)
                                .get();
                        sent++;
                    }
                    if (i == PER_DEVICE / 2) {
                        // Half-way: one verifier leaves, a new one joins; partitions move twice.
                        await().atMost(Duration.ofSeconds(60)).until(() -> seen.sum() >= total / 4);
                        verifiers.remove(0).close();
                        verifiers.add(verifier(kafka, "v2", config, receiptKey, seen));
                    }
                }
                // A bridge sends some twice (as after a crash before its MQTT ack): the first round again.
                for (int d = 0; d < DEVICES; d++) {
                    publisher
                            .publish(
                                    Topics.report(FLEET, devices.get(d)),
                                    reports.get(d).get(0),
                                    1,
                                    false)
                            .get();
                }
                System.out.printf(
                        "published %d reports of %d devices, then %d of them again%n", sent, DEVICES, DEVICES);

                Map<String, Integer> accepted = new HashMap<>();
                List<Verdict> rejected = new ArrayList<>();
                await().atMost(Duration.ofSeconds(120))
                        .pollInterval(Duration.ofSeconds(1))
                        .until(() -> {
                            accepted.clear();
                            rejected.clear();
                            readVerdicts(kafka, partitions, FLEET, accepted, rejected);
                            return accepted.size() >= total;
                        });
                long twice = accepted.values().stream().filter(n -> n > 1).count();
                System.out.printf(
                        "acceptance topic: %d distinct reports accepted of %d made, %d accepted more than once,"
                                + " %d rejected; bridges sent %d to Kafka; rebuilds %s%n",
                        accepted.size(),
                        total,
                        twice,
                        rejected.size(),
                        bridges.stream().mapToLong(Bridge::sent).sum(),
                        verifiers.stream()
                                .map(v -> String.valueOf(v.rebuilds()))
                                .toList());
                assertEquals(total, accepted.size(), "every report accepted");
                assertEquals(0, twice, "none accepted twice");
                assertEquals(List.of(), rejected, "no honest report rejected (device 0's came in reverse order)");
                assertTrue(
                        bridges.stream().mapToLong(Bridge::sent).sum() >= total + DEVICES,
                        "the duplicates reached Kafka too");
            } finally {
                verifiers.forEach(KafkaVerifier::close);
                bridges.forEach(Bridge::close);
            }
        }
    }

    private static KafkaVerifier verifier(
            KafkaBroker kafka, String id, AppraiserConfig config, DeviceKeys receiptKey, LongAdder seen) {
        KafkaVerifier v = new KafkaVerifier(
                FLEET,
                kafka.bootstrap(),
                "g",
                id,
                () -> new Appraiser(config),
                receiptKey,
                Optional.empty(),
                2,
                Optional.empty());
        v.observe((device, outcome) -> seen.increment());
        v.start();
        return v;
    }

    /** Every committed verdict: accepted ones counted per (device, seq), rejections listed. */
    static void readVerdicts(
            KafkaBroker kafka, int partitions, String fleet, Map<String, Integer> accepted, List<Verdict> rejected) {
        kafka.readCommitted(
                KafkaTopics.verdicts(fleet),
                partitions,
                r -> Verdict.decode(r.value()).ifPresent(v -> {
                    if (v.accepted()) {
                        accepted.merge(v.device() + "#" + v.seq(), 1, Integer::sum);
                    } else {
                        rejected.add(v);
                    }
                }));
    }
}
