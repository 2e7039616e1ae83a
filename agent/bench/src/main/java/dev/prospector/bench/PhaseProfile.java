package dev.prospector.bench;

import dev.prospector.ledger.Address;
import dev.prospector.ledger.ExecutionPlan;
import dev.prospector.ledger.ParallelBlockExecutor;
import dev.prospector.ledger.SequentialBlockExecutor;
import dev.prospector.ledger.ShardExecutor;
import dev.prospector.ledger.ShardState;
import dev.prospector.ledger.Tx;
import dev.prospector.ledger.Workload;
import java.util.Locale;
import java.util.concurrent.ForkJoinPool;

/**
 * Where the time of one block goes, phase by phase, sequential against the pool, interleaved:
 * plan (lookups, numbering, loads), execution, commit, state root. Each block is rolled back, so
 * every repetition starts from the same state. Usage: {@code PhaseProfile ACCOUNTS TXS CONTENTION THREADS}.
 */
public final class PhaseProfile {
    private static final int WARMUP = 8;
    private static final int MEASURED = 8;

    private PhaseProfile() {
    }

    public static void main(String[] args) throws Exception {
        int accounts = Integer.parseInt(args[0]);
        int txs = Integer.parseInt(args[1]);
        double contention = Double.parseDouble(args[2]);
        int threads = Integer.parseInt(args[3]);
        Workload w = Workload.start(new Workload.Spec(accounts, txs, 0, 0, 1));
        Tx[] block = w.nextTxs(txs, contention);
        ShardState s = w.builder().chain().state();
        Address reward = w.genesis().params().rewardKey();
        ForkJoinPool pool = new ForkJoinPool(threads);
        ShardExecutor[] executors = {new SequentialBlockExecutor(), new ParallelBlockExecutor(pool)};
        try {
            for (int r = 0; r < WARMUP + MEASURED; r++) {
                for (ShardExecutor e : executors) {
                    long t0 = System.nanoTime();
                    ExecutionPlan plan = ExecutionPlan.build(s, block, reward, e.pool());
                    long t1 = System.nanoTime();
                    e.execute(plan);
                    long t2 = System.nanoTime();
                    ExecutionPlan.Commit c = plan.commit(s, e.pool());
                    long t3 = System.nanoTime();
                    s.root(e.pool());
                    long t4 = System.nanoTime();
                    c.rollback();
                    s.root(e.pool());
                    if (r >= WARMUP) {
                        System.out.printf(Locale.ROOT, "%d thread(s): plan %.2f  execute %.2f  commit %.2f  state root %.2f ms%n",
                                e.threads(), (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, (t4 - t3) / 1e6);
                    }
                }
            }
        } finally {
            pool.shutdown();
        }
    }
}
