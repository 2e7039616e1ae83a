package dev.prospector.ledger;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * The executor's contract: for any workload and any thread count, the parallel executor (lanes)
 * gives the sequential executor's state root, outcomes (which transactions failed and why), deltas
 * and accounts. The workloads and the check are {@link ExecutorWorkloads}, which agent/bench's
 * Block-STM property shares.
 */
class ParallelEqualsSequentialProperties {
    private static final ForkJoinPool[] POOLS = {
        new ForkJoinPool(1), new ForkJoinPool(2), new ForkJoinPool(3), new ForkJoinPool(4)
    };

    @AfterContainer
    static void stopPools() {
        for (ForkJoinPool p : POOLS) {
            p.shutdown();
        }
    }

    @Property(tries = 300)
    void parallelExecutionEqualsSequential(@ForAll("anyWorkload") ExecutorWorkloads.Case w) {
        ExecutorWorkloads.assertEqualsSequential(w, executors());
    }

    @Property(tries = 30)
    void everyTransactionOnOneAccountStillEqualsSequential(@ForAll("oneHotAccount") ExecutorWorkloads.Case w) {
        ExecutorWorkloads.assertEqualsSequential(w, executors());
    }

    @Provide
    Arbitrary<ExecutorWorkloads.Case> anyWorkload() {
        return ExecutorWorkloads.anyWorkload();
    }

    @Provide
    Arbitrary<ExecutorWorkloads.Case> oneHotAccount() {
        return ExecutorWorkloads.oneHotAccount();
    }

    /** Lanes, forced parallel even for tiny blocks, on 1 to 4 threads. */
    private static List<ShardExecutor> executors() {
        List<ShardExecutor> out = new ArrayList<>();
        for (ForkJoinPool pool : POOLS) {
            out.add(new ParallelBlockExecutor(pool, 0));
        }
        return out;
    }
}
