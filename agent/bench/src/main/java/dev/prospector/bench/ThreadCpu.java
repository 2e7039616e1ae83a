package dev.prospector.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where a drain's CPU went, by kind of thread ({@code bench network --threads}): each live Java
 * thread's CPU time from the thread bean, the JIT compiler's from {@link CpuTime}, and the rest of
 * the process's (GC, which runs on the JVM's own thread with the serial collector, the JVM's other
 * threads, threads that ended in between) as one more kind.
 */
record ThreadCpu(CpuTime process, Map<Long, Long> threads, Map<Long, String> names) {
    static final String JIT = "JIT compiler";
    static final String OTHER = "other: GC, the JVM, ended threads";

    /** Kinds of threads by the start of their names, in the order they are printed. */
    private static final List<Map.Entry<String, String>> KINDS = List.of(
            Map.entry("verifier-appraise", "appraisal workers"),
            Map.entry("kafka-verifier-appraise", "appraisal workers"),
            Map.entry("kafka-verifier-receipts", "receipt signer"),
            Map.entry("verifier-receipts", "receipt signer"),
            Map.entry("kafka-verifier-", "Kafka verifier's poll loop"),
            Map.entry("kafka-producer-network-thread", "Kafka producer's sender"),
            Map.entry("kafka-coordinator-heartbeat-thread", "Kafka consumer's heartbeat"),
            Map.entry("MQTT Rec", "Paho's receiver"),
            Map.entry("MQTT Snd", "Paho's sender"),
            Map.entry("MQTT Call", "Paho's callbacks"),
            Map.entry("MQTT Ping", "Paho's pings"),
            Map.entry("proof-of-service", "proof-of-service clock"));

    static ThreadCpu now() {
        ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        Map<Long, Long> cpu = new HashMap<>();
        Map<Long, String> names = new HashMap<>();
        for (var info : bean.getThreadInfo(bean.getAllThreadIds())) {
            if (info == null) {
                continue;
            }
            long t = bean.getThreadCpuTime(info.getThreadId());
            if (t >= 0) {
                cpu.put(info.getThreadId(), t);
                names.put(info.getThreadId(), info.getThreadName());
            }
        }
        return new ThreadCpu(CpuTime.now(), cpu, names);
    }

    /** The kind of thread a name is of: one of {@link #KINDS}, else the name with digits as N. */
    static String kind(String name) {
        for (var k : KINDS) {
            if (name.startsWith(k.getKey())) {
                return k.getValue();
            }
        }
        return name.replaceAll("\\d+", "N");
    }

    /**
     * Microseconds of CPU per report from {@code before} to this, by kind of thread, {@link #JIT}
     * and {@link #OTHER} last; {@code reports} the reports decided in between.
     */
    Map<String, Double> perReport(ThreadCpu before, long reports) {
        Map<String, Long> by = new TreeMap<>();
        long sum = 0;
        for (var e : threads.entrySet()) {
            long d = e.getValue() - before.threads.getOrDefault(e.getKey(), 0L);
            if (d > 0) {
                by.merge(kind(names.get(e.getKey())), d, Long::sum);
                sum += d;
            }
        }
        long jit = process.jitSince(before.process);
        long rest = Math.max(0, process.processNanos() - before.process.processNanos() - sum - jit);
        Map<String, Double> out = new LinkedHashMap<>();
        by.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .forEach(e -> out.put(e.getKey(), e.getValue() / 1e3 / reports));
        out.put(JIT, jit / 1e3 / reports);
        out.put(OTHER, rest / 1e3 / reports);
        return out;
    }
}
