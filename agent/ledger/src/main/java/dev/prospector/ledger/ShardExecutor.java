package dev.prospector.ledger;

import java.util.concurrent.ForkJoinPool;

/**
 * Runs a block's transactions: fills every outcome and the block's deltas in an
 * {@link ExecutionPlan}. Every implementation must give exactly the result of
 * {@link SequentialBlockExecutor}.
 *
 * <p>The board uses only the ledger's own two, {@link SequentialBlockExecutor} and
 * {@link ParallelBlockExecutor} ({@link LedgerNode}). The interface is open so that executors kept
 * for comparison live outside the ledger: Block-STM is in agent/bench, which never ships, and
 * reaches the plan through its public executor view ({@link ExecutionPlan#applyTo} and the methods
 * beside it).
 */
public interface ShardExecutor {

    void execute(ExecutionPlan plan);

    /** Threads used; the state root is rehashed on {@link #pool()} when more than one. */
    int threads();

    /** The pool for parallel work, or null when single-threaded. */
    ForkJoinPool pool();
}
