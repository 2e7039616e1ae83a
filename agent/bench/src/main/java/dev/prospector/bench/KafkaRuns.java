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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
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

    /**
     * A backlog written to a fresh fleet's reports topic in one transaction left open: the
     * verifiers read committed records only, so they see none of it until {@link #release}. A drain
     * can so start its verifiers, let their group form, and then give them the whole backlog at
     * once. Closed unreleased, the transaction is aborted.
     */
    static final class HeldBacklog implements AutoCloseable {
        private final String fleet;
        private final long reports;
        private final KafkaProducer<String, byte[]> producer;
        private boolean open = true;

        private HeldBacklog(String fleet, long reports, KafkaProducer<String, byte[]> producer) {
            this.fleet = fleet;
            this.reports = reports;
            this.producer = producer;
        }

        String fleet() {
            return fleet;
        }

        long reports() {
            return reports;
        }

        /** Commits the transaction: every report of the backlog becomes readable at once. */
        void release() {
            if (open) {
                producer.commitTransaction();
                open = false;
            }
        }

        @Override
        public void close() {
            producer.close(Duration.ofSeconds(10));
        }
    }

    /**
     * Puts {@code backlog} on a fresh fleet's reports topic, held back in an open transaction until
     * {@link HeldBacklog#release}.
     */
    static HeldBacklog load(String bootstrap, Backlog backlog, String fleet) {
        KafkaTopics.ensure(bootstrap, fleet, PARTITIONS, (short) 1);
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "prospector-bench-load-" + fleet);
        // The group's forming (several rebalances with 4 verifiers on a loaded machine) happens
        // while the transaction is open.
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, String.valueOf(BenchTransportCommand.PHASE_LIMIT.toMillis()));
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p);
        try {
            producer.initTransactions();
            producer.beginTransaction();
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
            return new HeldBacklog(fleet, backlog.size(), producer);
        } catch (RuntimeException e) {
            producer.close(Duration.ZERO);
            throw e;
        }
    }

    /**
     * Drains {@code backlog} through {@code n} Kafka verifiers (one group, in this process, each
     * with every core): starts them, waits until their group has formed (every partition held by
     * one of them, each holding some, chain state rebuilt), then releases the backlog and times
     * them until every report has been decided once. The rate is taken from the release, as Kafka's
     * own {@code kafka-consumer-perf-test} gives {@code fetch.nMsg.sec} without its
     * {@code rebalance.time.ms}: the group forms once per membership change, not per report, and a
     * backlog readable during the forming is taken by the first verifier and handed over in
     * rebalances, so a rate timed from the start measures the forming more than the verifiers.
     * The forming's time is the run's {@link DrainRun#connectSeconds} and its CPU its
     * {@link DrainRun#startCpuSeconds}, both printed apart; CPU time is this process's.
     */
    static DrainRun drain(String url, String bootstrap, HeldBacklog backlog, int n) throws InterruptedException {
        String fleet = backlog.fleet();
        long total = backlog.reports();
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
        CpuTime cpuStart = CpuTime.now();
        long start = System.nanoTime();
        long deadline = start + BenchTransportCommand.PHASE_LIMIT.toNanos();
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
                        dev.prospector.agent.verifier.VerifierService.defaultWorkers(),
                        // Proofs of service judged, as by `prospector verifier --kafka` and the MQTT verifier here.
                        Optional.of(KafkaVerifier.judges(
                                dev.prospector.agent.verifier.ServiceSettings.defaults(), List.of())));
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
            // Not a test: polling the verifiers' state every few ms costs nothing they would notice.
            while (!formed(verifiers) && System.nanoTime() < deadline) {
                TimeUnit.MILLISECONDS.sleep(5);
            }
            ThreadCpu cpuFormed = ThreadCpu.now();
            long released = System.nanoTime();
            backlog.release();
            long left = Math.max(0, deadline - System.nanoTime());
            boolean finished = clock.await(left, TimeUnit.NANOSECONDS);
            long now = System.nanoTime();
            // Right after the last decision, on this thread: the verifiers' threads are still alive.
            Map<String, Double> byThread = ThreadCpu.now().perReport(cpuFormed, accepted.sum() + rejected.sum());
            CpuTime end = finished ? clock.cpuEnd() : CpuTime.now();
            return new DrainRun(
                    total,
                    ((finished ? clock.endNanos() : now) - start) / 1e9,
                    accepted.sum(),
                    duplicates.sum(),
                    rejected.sum(),
                    !finished,
                    -1,
                    twice.sum(),
                    end.workSince(cpuStart) / 1e9,
                    (released - start) / 1e9,
                    Double.NaN,
                    cpuFormed.process().workSince(cpuStart) / 1e9,
                    end.jitSince(cpuStart) / 1e9,
                    byThread,
                    Optional.empty());
        } finally {
            verifiers.forEach(KafkaVerifier::close);
            links.forEach(MqttLink::close);
        }
    }

    /** Every partition is held by exactly one of {@code verifiers}, and each holds at least one. */
    static boolean formed(List<KafkaVerifier> verifiers) {
        Set<Integer> all = new HashSet<>();
        int held = 0;
        for (KafkaVerifier v : verifiers) {
            Set<Integer> mine = v.heldPartitions();
            if (mine.isEmpty()) {
                return false;
            }
            all.addAll(mine);
            held += mine.size();
        }
        return all.size() == PARTITIONS && held == PARTITIONS;
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
