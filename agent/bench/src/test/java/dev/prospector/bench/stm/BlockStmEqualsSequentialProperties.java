package dev.prospector.bench.stm;

import dev.prospector.ledger.ExecutorWorkloads;
import dev.prospector.ledger.ShardExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Block-STM holds the ledger's executor contract: on the same generated workloads as the ledger's
 * {@code ParallelEqualsSequentialProperties} ({@link ExecutorWorkloads}, from the ledger's test
 * jar), on 1 to 4 threads, it gives the sequential executor's outcomes, deltas, accounts and state
 * root. It was seen to fail when validation is skipped.
 */
class BlockStmEqualsSequentialProperties {
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
    void blockStmEqualsSequential(@ForAll("anyWorkload") ExecutorWorkloads.Case w) {
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

    private static List<ShardExecutor> executors() {
        List<ShardExecutor> out = new ArrayList<>();
        for (ForkJoinPool pool : POOLS) {
            out.add(new BlockStmExecutor(pool));
        }
        return out;
    }
}
