package dev.prospector.bench;

import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.ReceiptBatch;
import dev.prospector.attest.Sha256;
import dev.prospector.bench.BenchTransportCommand.Backlog;
import dev.prospector.kafka.Bridge;
import dev.prospector.kafka.KafkaTopics;
import dev.prospector.kafka.KafkaVerifier;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Publish-to-receipt latency of {@code bench network}, at a steady paced load (not a backlog):
 * reports are published at {@code rate} per second, round by round over the devices, by a
 * board-side MQTT client; a board-side subscriber on every receipt of the fleet notes when each
 * report's receipt arrives (matched by the report hash the receipt names). The clock runs from just
 * before the publish to the receipt's arrival, both in this process (one clock). The first
 * {@link #WARM_UP} of each run is left out (connections and JIT settling).
 *
 * <p>Two paths: the MQTT-only verifier ({@code prospector verifier}'s wiring), and one Kafka
 * verifier fed by one bridge (report → Mosquitto → bridge → Kafka → verifier → transaction commit →
 * receipt over MQTT).
 */
final class ReceiptLatency {
    /** The first part of a run, left out of the percentiles. */
    static final Duration WARM_UP = Duration.ofSeconds(2);
    /** How long after the last publish a missing receipt is waited for. */
    static final Duration GRACE = Duration.ofSeconds(10);

    private ReceiptLatency() {}

    /**
     * One run: receipts seen of the reports published after the warm-up, and their percentiles;
     * for a Kafka verifier, the reports it decided per transaction over the whole run (NaN for the
     * MQTT verifier): at a paced load, a transaction takes what arrived while the last one committed.
     */
    record Result(int measured, int received, double p50Millis, double p99Millis, double reportsPerTransaction) {
        int missing() {
            return measured - received;
        }

        Result withReportsPerTransaction(double r) {
            return new Result(measured, received, p50Millis, p99Millis, r);
        }
    }

    /** Through one MQTT-only verifier. */
    static Result mqtt(String url, Backlog reports, double rate, String runId) throws InterruptedException {
        String id = "prospector-bench-latency-verifier-" + runId;
        try (var v = BenchTransportCommand.verifier(url, id, Optional.empty())) {
            v.service().connect();
            return measure(url, reports, rate, runId);
        } finally {
            BenchTransportCommand.removeSession(url, id);
        }
    }

    /**
     * Through one bridge and one Kafka verifier of fleet {@code bench} (the fleet the reports name:
     * receipts go to the boards' topics). Earlier runs' reports on its reports topic are skipped:
     * the verifier's group starts at the topic's end.
     */
    static Result kafka(String url, String bootstrap, Backlog reports, double rate, String runId, int partitions)
            throws InterruptedException {
        String fleet = BenchTransportCommand.FLEET;
        KafkaTopics.ensure(bootstrap, fleet, partitions, (short) 1);
        String group = "bench-latency-" + runId;
        startAtEnd(bootstrap, KafkaTopics.reports(fleet), group);
        AppraiserConfig config = AppraiserConfig.defaults()
                .withFleet(fleet)
                .withClockSkewWindow(BenchTransportCommand.BENCH_SKEW_WINDOW)
                .withNewDevicesPerMinute(0);
        String bridgeId = "prospector-bench-latency-bridge-" + runId;
        MqttLink receipts = new MqttLink(
                MqttSettings.of(BrokerUrl.parse(url), "prospector-bench-latency-receipts-" + runId)
                        .withSessionExpiry(Duration.ZERO),
                Optional.empty(),
                (topic, payload) -> {});
        try (receipts;
                KafkaVerifier verifier = new KafkaVerifier(
                        fleet,
                        bootstrap,
                        group,
                        "latency-" + runId,
                        () -> new dev.prospector.attest.Appraiser(config),
                        DeviceKeys.generate(),
                        Optional.of(receipts),
                        dev.prospector.agent.verifier.VerifierService.defaultWorkers(),
                        // Proofs of service judged, as by `prospector verifier --kafka` and the MQTT verifier here.
                        Optional.of(KafkaVerifier.judges(
                                dev.prospector.agent.verifier.ServiceSettings.defaults(), List.of())));
                Bridge bridge = new Bridge(
                        fleet,
                        "benchlatency" + runId.replaceAll("[^A-Za-z0-9]", ""),
                        MqttSettings.of(BrokerUrl.parse(url), bridgeId).withSessionExpiry(Duration.ZERO),
                        bootstrap,
                        partitions)) {
            receipts.connect();
            verifier.start();
            bridge.connect();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (verifier.rebuilds() == 0 && System.nanoTime() < deadline) {
                TimeUnit.MILLISECONDS.sleep(20); // the group's first assignment: the partitions are its
            }
            if (verifier.rebuilds() == 0) {
                throw new IllegalStateException("the Kafka verifier got no partitions within 60 s");
            }
            Result r = measure(url, reports, rate, runId);
            long decided = verifier.accepted() + verifier.duplicates() + verifier.rejected();
            return r.withReportsPerTransaction(
                    verifier.transactions() == 0 ? Double.NaN : (double) decided / verifier.transactions());
        }
    }

    /** Commits {@code group}'s offsets at the end of every partition of {@code topic}. */
    private static void startAtEnd(String bootstrap, String topic, String group) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(p)) {
            var description =
                    admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS);
            Map<TopicPartition, OffsetSpec> ask = new HashMap<>();
            description
                    .get(topic)
                    .partitions()
                    .forEach(i -> ask.put(new TopicPartition(topic, i.partition()), OffsetSpec.latest()));
            Map<TopicPartition, OffsetAndMetadata> at = new HashMap<>();
            admin.listOffsets(ask)
                    .all()
                    .get(30, TimeUnit.SECONDS)
                    .forEach((tp, o) -> at.put(tp, new OffsetAndMetadata(o.offset())));
            admin.alterConsumerGroupOffsets(group, at).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("cannot set the offsets of group " + group + ": " + e, e);
        }
    }

    /** Publishes {@code reports} paced at {@code rate}/s and times each receipt. */
    private static Result measure(String url, Backlog reports, double rate, String runId) throws InterruptedException {
        HexFormat hex = HexFormat.of();
        Map<String, Long> sentAt = new ConcurrentHashMap<>();
        Map<String, Long> latency = new ConcurrentHashMap<>();
        var received = new AtomicLong();
        MqttLink watcher = new MqttLink(
                MqttSettings.of(BrokerUrl.parse(url), "prospector-bench-latency-board-sub-" + runId)
                        .withSessionExpiry(Duration.ZERO),
                Optional.empty(),
                (topic, payload) -> {
                    long now = System.nanoTime();
                    try {
                        Receipt r = ReceiptBatch.open(payload).decode();
                        String key = hex.formatHex(r.reportHash());
                        Long t = sentAt.get(key);
                        if (t != null && latency.putIfAbsent(key, now - t) == null) {
                            received.incrementAndGet();
                        }
                    } catch (MalformedReportException | RuntimeException e) {
                        // Not a receipt of ours: not counted.
                    }
                });
        MqttLink board = new MqttLink(
                MqttSettings.of(BrokerUrl.parse(url), "prospector-bench-latency-board-" + runId)
                        .withSessionExpiry(Duration.ZERO),
                Optional.empty(),
                (topic, payload) -> {});
        try (watcher;
                board) {
            watcher.subscribe(Topics.allReceipts(BenchTransportCommand.FLEET), 1);
            watcher.connect();
            board.connect();
            int rounds = reports.reportsPerDevice();
            int n = reports.devices().size();
            long interval = (long) (1e9 / rate);
            long start = System.nanoTime();
            long warm = start + WARM_UP.toNanos();
            int measured = 0;
            int i = 0;
            for (int round = 0; round < rounds; round++) {
                for (int d = 0; d < n; d++, i++) {
                    long due = start + i * interval;
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        LockSupport.parkNanos(wait);
                    }
                    byte[] report = reports.reports().get(d).get(round);
                    long t = System.nanoTime();
                    if (t >= warm) {
                        sentAt.put(hex.formatHex(Sha256.of(report)), t);
                        measured++;
                    }
                    board.publish(
                            Topics.report(
                                    BenchTransportCommand.FLEET,
                                    reports.devices().get(d)),
                            report,
                            1,
                            false);
                }
            }
            long deadline = System.nanoTime() + GRACE.toNanos();
            while (received.get() < measured && System.nanoTime() < deadline) {
                TimeUnit.MILLISECONDS.sleep(50);
            }
            long[] ms = latency.values().stream()
                    .mapToLong(Long::longValue)
                    .sorted()
                    .toArray();
            return new Result(measured, ms.length, percentile(ms, 0.50), percentile(ms, 0.99), Double.NaN);
        }
    }

    /** The nearest-rank percentile, in milliseconds; NaN for none. */
    static double percentile(long[] sortedNanos, double p) {
        if (sortedNanos.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p * sortedNanos.length);
        return sortedNanos[Math.max(0, Math.min(sortedNanos.length - 1, rank - 1))] / 1e6;
    }

    /** Signs a fresh set of reports for one run (new devices: no chain state of earlier runs knows them). */
    static Backlog sign(double rate, Duration length, int devices, Path dir) throws InterruptedException {
        int perDevice = (int) Math.max(1, Math.ceil(rate * length.toSeconds() / devices));
        return Backlog.sign(devices, perDevice, dir);
    }

    static double median(List<Result> runs, boolean p99) {
        double[] v = runs.stream()
                .mapToDouble(r -> p99 ? r.p99Millis() : r.p50Millis())
                .filter(x -> !Double.isNaN(x))
                .toArray();
        Arrays.sort(v);
        return v.length == 0 ? Double.NaN : BenchCryptoCommand.median(v);
    }
}
