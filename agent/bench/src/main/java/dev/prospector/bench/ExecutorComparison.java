package dev.prospector.bench;

import dev.prospector.agent.common.Failure;
import dev.prospector.bench.stm.BlockStmExecutor;
import dev.prospector.ledger.ExecutionPlan;
import dev.prospector.ledger.ParallelBlockExecutor;
import dev.prospector.ledger.SequentialBlockExecutor;
import dev.prospector.ledger.ShardExecutor;
import dev.prospector.ledger.Tx;
import dev.prospector.ledger.Workload;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ForkJoinPool;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code prospector bench executor compare}: execution alone (no decoding, no state root):
 * sequential vs lanes vs Block-STM on the same transactions, interleaved, medians. The measurement
 * behind the executor choice in docs/LEDGER.md.
 */
@Command(
        name = "compare",
        mixinStandardHelpOptions = true,
        description = {
            "Time execution alone: sequential, lanes and Block-STM.",
            "The same transactions at contention 0, 0.5 and 1, executors interleaved, medians; no decoding, no state root."
        })
public final class ExecutorComparison implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--accounts",
            defaultValue = "1000000",
            description = "Accounts in the shard (default ${DEFAULT-VALUE}).")
    int accounts;

    @Option(names = "--txs", defaultValue = "10000", description = "Transfers in the block (default ${DEFAULT-VALUE}).")
    int txs;

    @Option(
            names = "--repeats",
            defaultValue = "7",
            description = "Measured runs per executor; the median is shown (default ${DEFAULT-VALUE}).")
    int repeats;

    @Option(
            names = "--threads",
            defaultValue = "2",
            description = "Threads of the parallel executors (default ${DEFAULT-VALUE}).")
    int threads;

    @Override
    public Integer call() throws Exception {
        if (threads < 1 || repeats < 1) {
            throw new Failure("--threads and --repeats must be at least 1, got " + threads + " and " + repeats);
        }
        Workload w;
        try {
            w = Workload.start(new Workload.Spec(accounts, txs, 0, 0, 1));
        } catch (IllegalArgumentException e) {
            throw new Failure(e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        var state = w.builder().chain().state();
        var reward = w.genesis().params().rewardKey();
        ForkJoinPool pool = new ForkJoinPool(threads);
        List<ShardExecutor> executors =
                List.of(new SequentialBlockExecutor(), new ParallelBlockExecutor(pool), new BlockStmExecutor(pool));
        String[] names = {"sequential", "lanes", "block-stm"};
        try {
            for (double c : new double[] {0.0, 0.5, 1.0}) {
                w.rewindNonces();
                Tx[] block = w.nextTxs(txs, c);
                long[][] nanos = new long[executors.size()][repeats];
                for (int r = -2; r < repeats; r++) {
                    for (int e = 0; e < executors.size(); e++) {
                        ExecutionPlan plan = ExecutionPlan.build(state, block, reward);
                        long t0 = System.nanoTime();
                        executors.get(e).execute(plan);
                        long dt = System.nanoTime() - t0;
                        if (plan.firstFailure() >= 0) {
                            throw new IllegalStateException("generated transaction failed");
                        }
                        if (r >= 0) {
                            nanos[e][r] = dt;
                        }
                    }
                }
                double seq = median(nanos[0]);
                for (int e = 0; e < executors.size(); e++) {
                    double m = median(nanos[e]);
                    out.printf(
                            Locale.ROOT,
                            "contention %.1f  %-10s %d thr  %7.2f ms  %,10.0f tx/s  %.2fx sequential%n",
                            c,
                            names[e],
                            executors.get(e).threads(),
                            m / 1e6,
                            txs / (m / 1e9),
                            seq / m);
                    out.flush();
                }
            }
        } finally {
            pool.shutdown();
        }
        return 0;
    }

    private static double median(long[] xs) {
        long[] c = xs.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }
}
