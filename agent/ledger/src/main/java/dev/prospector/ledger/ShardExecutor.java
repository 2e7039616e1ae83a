package dev.prospector.ledger;

import java.util.concurrent.ForkJoinPool;

/**
 * Runs a block's transactions: fills every outcome and the block's deltas in an
 * {@link ExecutionPlan}. Every implementation must give exactly the result of
 * {@link SequentialBlockExecutor}.
 */
public sealed interface ShardExecutor permits SequentialBlockExecutor, ParallelBlockExecutor, BlockStmExecutor {

    void execute(ExecutionPlan plan);

    /** Threads used; the state root is rehashed on {@link #pool()} when more than one. */
    int threads();

    /** The pool for parallel work, or null when single-threaded. */
    ForkJoinPool pool();
}
