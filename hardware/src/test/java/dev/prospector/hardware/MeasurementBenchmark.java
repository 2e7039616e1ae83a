package dev.prospector.hardware;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;

/**
 * Cost of one full measurement round on the emulated board and on fixture roots: the first
 * (cold) round, then median and 99th percentile wall time of many warm rounds, and bytes
 * allocated per round on all threads (the round's reader threads included). Not a test; run it by hand (see docs/HARDWARE.md, "Benchmark"):
 *
 * <pre>
 * mvn -q -o -pl hardware test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp hardware/target/classes:hardware/target/test-classes:$(cat hardware/target/cp.txt) \
 *     dev.prospector.hardware.MeasurementBenchmark [rounds]
 * </pre>
 */
public final class MeasurementBenchmark {

    private static final int WARMUP_ROUNDS = 3_000;

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5_000;
        Path dataDir = Files.createTempDirectory("prospector-bench");
        System.out.printf(
                "rounds: %d after %d warm-up, JVM %s, %d CPUs%n",
                rounds, WARMUP_ROUNDS, Runtime.version(), Runtime.getRuntime().availableProcessors());
        BoardConfig base = BoardConfig.defaults(dataDir).withClock(Clock.systemUTC());
        run("emulated", base.withSelection(BoardSelection.EMULATED), rounds);
        for (String fixture : new String[] {"pi-zero-2-w", "pi-4", "pi-5", "cm4"}) {
            Path root = Path.of("hardware/src/test/resources/fixtures", fixture);
            if (!Files.isDirectory(root)) {
                root = Path.of("src/test/resources/fixtures", fixture);
            }
            run("fixture " + fixture, base.withSelection(BoardSelection.LINUX).withRoot(root), rounds);
        }
        run("this host (/)", base.withSelection(BoardSelection.LINUX), rounds);
        Files.delete(dataDir);
    }

    private static void run(String label, BoardConfig config, int rounds) {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Board board = Boards.open(config)) {
            long coldStart = System.nanoTime();
            int readings = board.measure().readings().size();
            long cold = System.nanoTime() - coldStart;
            for (int i = 0; i < WARMUP_ROUNDS; i++) {
                readings = board.measure().readings().size();
            }
            long[] nanos = new long[rounds];
            long allocBefore = allocated(threads);
            for (int i = 0; i < rounds; i++) {
                long start = System.nanoTime();
                board.measure();
                nanos[i] = System.nanoTime() - start;
            }
            long allocAfter = allocated(threads);
            Arrays.sort(nanos);
            System.out.printf(
                    "%-20s %2d readings  first %7.1f ms  median %6.1f µs  p99 %7.1f µs" + "  %5.1f KiB/round%n",
                    label,
                    readings,
                    cold / 1e6,
                    nanos[rounds / 2] / 1e3,
                    nanos[rounds * 99 / 100] / 1e3,
                    (allocAfter - allocBefore) / (double) rounds / 1024);
        }
    }

    /** Bytes allocated so far by all live threads. */
    private static long allocated(com.sun.management.ThreadMXBean threads) {
        long total = 0;
        for (long bytes : threads.getThreadAllocatedBytes(threads.getAllThreadIds())) {
            total += Math.max(0, bytes);
        }
        return total;
    }
}
