package dev.prospector.bench;

import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.bench.BenchTransportCommand.Backlog;
import dev.prospector.bench.BenchTransportCommand.DrainRun;
import dev.prospector.kafka.Bridge;
import dev.prospector.kafka.KafkaTopics;
import dev.prospector.kafka.KafkaVerifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Kafka rows of {@code bench network}: verifiers of one consumer group draining a backlog put
 * on a fresh reports topic, and one bridge moving a backlog queued for it at Mosquitto into Kafka.
 */
final class KafkaRuns {
    /** Partitions of each run's topics: room for 4 verifiers, 2 partitions each. */
    static final int PARTITIONS = 8;

    private KafkaRuns() {}

    /** Puts {@code backlog} on a fresh fleet's reports topic; returns the fleet (topic) name. */
    static String load(String bootstrap, Backlog backlog, String fleet) {
        KafkaTopics.ensure(bootstrap, fleet, PARTITIONS, (short) 1);
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p)) {
            int rounds = backlog.reportsPerDevice();
            for (int i = 0; i < rounds; i++) {
                for (int d = 0; d < backlog.devices().size(); d++) {
                    String device = backlog.devices().get(d);
                    producer.send(new ProducerRecord<>(
                            KafkaTopics.reports(fleet),
                            KafkaTopics.partition(device, PARTITIONS),
                            device,
                            backlog.reports().get(d).get(i)));
                }
            }
            producer.flush();
        }
        return fleet;
    }

    /**
     * Times {@code n} Kafka verifiers (one group, in this process, each with every core) from their
     * start until every report of the topic has been decided once (the group's forming included: a
     * rate from the first decision on is no measure here, as the verifiers that join later commit
     * polls appraised meanwhile in bursts); CPU time is this process's.
     */
    static DrainRun drain(String url, String bootstrap, String fleet, long total, int n) throws InterruptedException {
        AppraiserConfig config = AppraiserConfig.defaults()
                .withFleet(BenchTransportCommand.FLEET)
                .withClockSkewWindow(BenchTransportCommand.BENCH_SKEW_WINDOW)
                .withNewDevicesPerMinute(0);
        DeviceKeys receiptKey = DeviceKeys.generate();
        var accepted = new LongAdder();
        var rejected = new LongAdder();
        var duplicates = new LongAdder();
        var twice = new LongAdder();
        Set<String> seen = ConcurrentHashMap.newKeySet();
        var clock = new DrainClock(total);
        List<KafkaVerifier> verifiers = new ArrayList<>();
        // Receipts go out over MQTT as in `prospector verifier --kafka`: signing them is part of the cost.
        List<MqttLink> links = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            MqttLink link = new MqttLink(
                    MqttSettings.of(BrokerUrl.parse(url), "prospector-bench-kafka-receipts-" + fleet + "-" + i)
                            .withSessionExpiry(Duration.ZERO),
                    Optional.empty(),
                    (topic, payload) -> {});
            link.connect();
            links.add(link);
        }
        long cpuStart = BenchTransportCommand.processCpuNanos();
        long start = System.nanoTime();
        try {
            for (int i = 0; i < n; i++) {
                KafkaVerifier v = new KafkaVerifier(
                        fleet,
                        bootstrap,
                        "bench-" + fleet,
                        "bench-" + i,
                        () -> new Appraiser(config),
                        receiptKey,
                        Optional.of(links.get(i)),
                        dev.prospector.agent.verifier.VerifierService.defaultWorkers());
                v.observe((device, outcome) -> {
                    if (outcome instanceof Appraisal.Accepted a && a.duplicate()) {
                        duplicates.increment();
                        return;
                    }
                    if (outcome instanceof Appraisal.Accepted a) {
                        accepted.increment();
                        if (!seen.add(a.device().value() + "#" + a.seq())) {
                            twice.increment();
                        }
                    } else {
                        rejected.increment();
                    }
                    clock.decided();
                });
                verifiers.add(v);
                v.start();
            }
            boolean finished = clock.await(BenchTransportCommand.PHASE_LIMIT.toSeconds(), TimeUnit.SECONDS);
            long now = System.nanoTime();
            return new DrainRun(
                    total,
                    ((finished ? clock.endNanos() : now) - start) / 1e9,
                    accepted.sum(),
                    duplicates.sum(),
                    rejected.sum(),
                    !finished,
                    -1,
                    twice.sum(),
                    ((finished ? clock.cpuEndNanos() : BenchTransportCommand.processCpuNanos()) - cpuStart) / 1e9,
                    clock.firstNanos() == 0 ? Double.NaN : (clock.firstNanos() - start) / 1e9,
                    Double.NaN,
                    Double.NaN);
        } finally {
            verifiers.forEach(KafkaVerifier::close);
            links.forEach(MqttLink::close);
        }
    }

    /**
     * CPU seconds of this process for {@code n} Kafka verifiers to start on a fresh topic and decide
     * its one report: creating the clients, joining the group, rebuilding from the chain topic,
     * one poll, one transaction; the start that {@link #drain}'s CPU includes once. Measured apart
     * because a verifier reports a poll's decisions after its commit, so the CPU to a drain's first
     * decision would hold the first poll's appraisals too. With several verifiers it ends at the
     * first decision, before the later ones may have finished joining: their share of the start
     * stays in the drain's per-report figure.
     */
    static double startCpuSeconds(String url, String bootstrap, Backlog backlog, String fleet, int n)
            throws InterruptedException {
        Backlog one = new Backlog(
                List.of(backlog.devices().get(0)),
                List.of(List.of(backlog.reports().get(0).get(0))));
        load(bootstrap, one, fleet);
        return drain(url, bootstrap, fleet, 1, n).cpuSeconds();
    }

    /**
     * One bridge's reports/s: {@code backlog} is queued at the broker for the bridge's persistent
     * session while it is away, then timed from its connect until Kafka has taken every report.
     */
    static double bridge(String url, String bootstrap, Backlog backlog, String runId) throws InterruptedException {
        // The bridge takes fleet "bench" from MQTT, so it writes to prospector.bench.reports (shared by the runs).
        KafkaTopics.ensure(bootstrap, BenchTransportCommand.FLEET, PARTITIONS, (short) 1);
        String id = "prospector-bench-bridge-" + runId;
        MqttSettings mqtt = MqttSettings.of(BrokerUrl.parse(url), id).withSessionExpiry(Duration.ofHours(1));
        try {
            try (Bridge away = new Bridge(BenchTransportCommand.FLEET, "benchbridge", mqtt, bootstrap, PARTITIONS)) {
                away.connect(); // the session and its shared subscription, then away
            }
            BenchTransportCommand.publish(url, backlog, "prospector-bench-publisher-" + runId);
            try (Bridge bridge = new Bridge(BenchTransportCommand.FLEET, "benchbridge", mqtt, bootstrap, PARTITIONS)) {
                long start = System.nanoTime();
                bridge.connect();
                long deadline = start + BenchTransportCommand.PHASE_LIMIT.toNanos();
                while (bridge.sent() < backlog.size() && System.nanoTime() < deadline) {
                    TimeUnit.MILLISECONDS.sleep(20);
                }
                return bridge.sent() / ((System.nanoTime() - start) / 1e9);
            }
        } finally {
            BenchTransportCommand.removeSession(url, id);
        }
    }
}
