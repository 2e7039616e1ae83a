package dev.prospector.bench;

import dev.prospector.ledger.BlockStmExecutor;
import dev.prospector.ledger.ExecutionPlan;
import dev.prospector.ledger.ParallelBlockExecutor;
import dev.prospector.ledger.SequentialBlockExecutor;
import dev.prospector.ledger.ShardExecutor;
import dev.prospector.ledger.Tx;
import dev.prospector.ledger.Workload;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ForkJoinPool;

/**
 * Execution alone (no decoding, no state root): sequential vs lanes vs Block-STM on the same
 * transactions, interleaved, medians. The measurement behind the executor choice in
 * docs/LEDGER.md. Usage: {@code ExecutorComparison ACCOUNTS TXS REPEATS THREADS}.
 */
public final class ExecutorComparison {
    private ExecutorComparison() {
    }

    public static void main(String[] args) throws Exception {
        int accounts = Integer.parseInt(args[0]);
        int txs = Integer.parseInt(args[1]);
        int repeats = Integer.parseInt(args[2]);
        int threads = Integer.parseInt(args[3]);
        Workload w = Workload.start(new Workload.Spec(accounts, txs, 0, 0, 1));
        var state = w.builder().chain().state();
        var reward = w.genesis().params().rewardKey();
        ForkJoinPool pool = new ForkJoinPool(threads);
        List<ShardExecutor> executors = List.of(new SequentialBlockExecutor(), new ParallelBlockExecutor(pool), new BlockStmExecutor(pool));
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
                    System.out.printf(Locale.ROOT, "contention %.1f  %-10s %d thr  %7.2f ms  %,10.0f tx/s  %.2fx sequential%n", c,
                            names[e], executors.get(e).threads(), m / 1e6, txs / (m / 1e9), seq / m);
                }
            }
        } finally {
            pool.shutdown();
        }
    }

    private static double median(long[] xs) {
        long[] c = xs.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }
}
