package dev.prospector.bench;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * This process's CPU time at one moment, and how much of it the JIT compiler's threads have spent:
 * what a drain's CPU per report is taken from.
 *
 * <h2>Why the JIT is taken out</h2>
 * One bench process runs many workloads in turn (bench crypto's slices, the MQTT verifier, Kafka
 * verifiers one, two and four at a time, a bridge, paced loads), so the JIT keeps compiling and
 * recompiling long after the warm-up drains: in one {@code bench network --kafka} of 2 December its
 * compiler threads were still busy through the last measured runs, and they spent from 5 to 81 µs a
 * report during drains whose verifiers spent 130-190 (docs/BENCHMARKS.md). That cost falls on
 * whichever drain runs at the time; a verifier process in service, which runs one workload, pays
 * it once, as it pays its start. So a drain's CPU per report is the process's less its compiler
 * threads', and the compiler threads' is reported apart.
 *
 * <h2>How</h2>
 * The process's CPU from the OS bean; each compiler thread's from Linux's
 * {@code /proc/self/task/TID/schedstat} (nanoseconds on CPU), the threads found by name ({@code C1
 * CompilerThre}, {@code C2 CompilerThre}: the kernel keeps 15 characters). Each thread's time is
 * taken by thread, so a compiler thread that ended between two moments loses its time to the
 * drain's, never the other way: an error here can only make a drain look dearer. Elsewhere than
 * Linux the JIT's time is 0.
 */
record CpuTime(long processNanos, Map<Integer, Long> compilerNanos) {
    private static final Path TASKS = Path.of("/proc/self/task");
    /** Threads known not to be the JIT's (their names read once). */
    private static final Map<Integer, Boolean> OTHERS = new ConcurrentHashMap<>();

    static CpuTime now() {
        Map<Integer, Long> jit = new HashMap<>();
        if (Files.isDirectory(TASKS)) {
            try (DirectoryStream<Path> tasks = Files.newDirectoryStream(TASKS)) {
                for (Path task : tasks) {
                    int tid = Integer.parseInt(task.getFileName().toString());
                    if (OTHERS.containsKey(tid)) {
                        continue;
                    }
                    try {
                        if (!isCompiler(Files.readString(task.resolve("comm")).trim())) {
                            OTHERS.put(tid, Boolean.TRUE);
                            continue;
                        }
                        jit.put(tid, onCpuNanos(task));
                    } catch (IOException | RuntimeException e) {
                        // The thread ended meanwhile: its time is left in the drain's.
                    }
                }
            } catch (IOException e) {
                // No /proc: the JIT's time is not known, and stays in the drain's.
            }
        }
        return new CpuTime(BenchTransportCommand.processCpuNanos(), Map.copyOf(jit));
    }

    /** Nanoseconds on CPU of the thread at {@code task} ({@code /proc/PID/task/TID}): its schedstat's first field. */
    static long onCpuNanos(Path task) throws IOException {
        String stat = Files.readString(task.resolve("schedstat")).trim();
        return Long.parseLong(stat.substring(0, stat.indexOf(' ')));
    }

    static boolean isCompiler(String comm) {
        return comm.startsWith("C1 CompilerThre") || comm.startsWith("C2 CompilerThre");
    }

    /** The JIT compiler threads' CPU nanoseconds from {@code before} to this. */
    long jitSince(CpuTime before) {
        long sum = 0;
        for (var e : compilerNanos.entrySet()) {
            sum += Math.max(0, e.getValue() - before.compilerNanos.getOrDefault(e.getKey(), 0L));
        }
        return sum;
    }

    /** The process's CPU nanoseconds from {@code before} to this, the JIT's taken out. */
    long workSince(CpuTime before) {
        return Math.max(0, processNanos - before.processNanos - jitSince(before));
    }
}
