package dev.prospector.bench;

import dev.prospector.agent.common.Failure;
import dev.prospector.ledger.Address;
import dev.prospector.ledger.ExecutionPlan;
import dev.prospector.ledger.ParallelBlockExecutor;
import dev.prospector.ledger.SequentialBlockExecutor;
import dev.prospector.ledger.ShardExecutor;
import dev.prospector.ledger.ShardState;
import dev.prospector.ledger.Tx;
import dev.prospector.ledger.Workload;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ForkJoinPool;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code prospector bench executor phases}: where the time of one block goes, phase by phase,
 * sequential against the pool, interleaved: plan (lookups, numbering, loads), execution, commit,
 * state root. Each block is rolled back, so every repetition starts from the same state.
 */
@Command(
        name = "phases",
        mixinStandardHelpOptions = true,
        description = {
            "Time one block's phases: plan, execute, commit and state root.",
            "Sequential against the parallel executor, interleaved, " + PhaseProfile.MEASURED
                    + " measured rounds after " + PhaseProfile.WARMUP
                    + " warm-up rounds; each block is rolled back after it is timed."
        })
public final class PhaseProfile implements Callable<Integer> {
    static final int WARMUP = 8;
    static final int MEASURED = 8;

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
            names = "--contention",
            defaultValue = "0",
            description = "0..1: share of transfers paying one hot account (default ${DEFAULT-VALUE}).")
    double contention;

    @Option(
            names = "--threads",
            defaultValue = "2",
            description = "Threads of the parallel executor (default ${DEFAULT-VALUE}).")
    int threads;

    @Override
    public Integer call() throws Exception {
        if (threads < 1) {
            throw new Failure("--threads must be at least 1, got " + threads);
        }
        Workload w;
        try {
            w = Workload.start(new Workload.Spec(accounts, txs, 0, contention, 1));
        } catch (IllegalArgumentException e) {
            throw new Failure(e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
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
                        out.printf(
                                Locale.ROOT,
                                "%d thread(s): plan %.2f  execute %.2f  commit %.2f  state root %.2f ms%n",
                                e.threads(),
                                (t1 - t0) / 1e6,
                                (t2 - t1) / 1e6,
                                (t3 - t2) / 1e6,
                                (t4 - t3) / 1e6);
                        out.flush();
                    }
                }
            }
        } finally {
            pool.shutdown();
        }
        return 0;
    }
}
