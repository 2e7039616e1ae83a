package dev.prospector.bench.stm;

import dev.prospector.ledger.ExecutionPlan;
import dev.prospector.ledger.ParallelBlockExecutor;
import dev.prospector.ledger.SequentialBlockExecutor;
import dev.prospector.ledger.ShardExecutor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Block-STM (Gelashvili et al., "Block-STM: Scaling Blockchain Execution by Turning Ordering Curse
 * to a Performance Blessing", PPoPP 2023), kept for comparison with the ledger's
 * {@link ParallelBlockExecutor} so that the choice between them is a measurement, not a belief
 * (docs/LEDGER.md). Only the benchmarks use it ({@code bench executor --executor block-stm},
 * {@code bench executor compare}, {@code ShardExecutorBenchmark}), so it lives here, in agent/bench,
 * which never ships on a board.
 *
 * <h2>Algorithm</h2>
 * Transactions execute optimistically against a multi-version memory: for every account slot, one
 * version cell per transaction that may write it, in block order. A read by transaction i takes
 * the highest-indexed version below i (or the block's base value) and records which version it
 * saw. After executing, a transaction is validated: its reads must still see the same versions.
 * A failed validation aborts the incarnation, turns its writes into ESTIMATE markers (a reader
 * that meets one waits for that transaction instead of reading a value about to change) and
 * re-executes it. The collaborative scheduler of the paper hands out execution and validation
 * tasks by two indices that only move back when an abort or a new write location demands it;
 * the run is done when both indices passed the block and no task is in flight.
 *
 * <h2>Invariants</h2>
 * The committed result is that of the sequential order: every transaction's final incarnation
 * read exactly the values its predecessors' final incarnations wrote (validation ensures this),
 * and the final value of a slot is the last final write to it. Fees and rewards are per
 * transaction deltas summed at the end, never read, so they cause no aborts.
 *
 * <h2>Concurrency</h2>
 * Version cells are an {@link AtomicReferenceArray}; a transaction's status and incarnation are
 * guarded by its own monitor; the lock order for the one nested acquisition (a dependency) is
 * lower index first. The multi-version index uses the slots the plan derived from the
 * transactions, which is where our transactions' declared access sets make this simpler than a
 * general-purpose Block-STM (no concurrent map per location).
 *
 * <h2>What it uses of the ledger</h2>
 * Only public API: {@link ShardExecutor} (open, not sealed, for this class), the reference
 * {@link SequentialBlockExecutor} for one thread, and the executor view of {@link ExecutionPlan}
 * that was made public for it and is kept to what an executor outside the package needs: the
 * declared access sets ({@code slots}, {@code senderSlot}, {@code recipientSlot}), a slot's values
 * before the block ({@code balance}, {@code stake}, {@code nonce}), one transaction run on values
 * the executor keeps itself ({@code applyTo} with an {@link ExecutionPlan.Scratch}, which records
 * the outcome and reports the fee and reward), and the writes back ({@code write},
 * {@code addDeltas}). The state transition itself ({@code TxRules}) and the plan's arrays stay
 * package-private: this class never sees a rule, only values in and values out.
 */
public final class BlockStmExecutor implements ShardExecutor {
    private static final int READY = 0;
    private static final int EXECUTING = 1;
    private static final int EXECUTED = 2;
    private static final int ABORTING = 3;
    /** A read that found no version below the reader: the block's base value. */
    private static final int BASE = -1;
    /** No second read (stake, unstake, self-transfer). */
    private static final int NO_READ = -2;

    private static final long NONE = -1;
    private static final long VALIDATION_FLAG = 1L << 62;

    private final ForkJoinPool pool;
    private final int threads;

    public BlockStmExecutor(ForkJoinPool pool) {
        this.pool = pool;
        this.threads = pool.getParallelism();
    }

    @Override
    public int threads() {
        return threads;
    }

    @Override
    public ForkJoinPool pool() {
        return pool;
    }

    @Override
    public void execute(ExecutionPlan plan) {
        if (threads == 1 || plan.size() == 0) {
            new SequentialBlockExecutor().execute(plan);
            return;
        }
        Run run = new Run(plan);
        List<Callable<Void>> workers = new ArrayList<>();
        for (int w = 0; w < threads; w++) {
            workers.add(() -> {
                run.work();
                return null;
            });
        }
        try {
            for (var f : pool.invokeAll(workers)) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while executing a block", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("Block-STM worker failed", e.getCause());
        }
        run.materialise();
    }

    /** One written value of a slot by one incarnation, or its ESTIMATE marker after an abort. */
    private record Version(int incarnation, boolean estimate, long bal, long stk, long non) {
        Version asEstimate() {
            return new Version(incarnation, true, bal, stk, non);
        }
    }

    private static final class Run {
        final ExecutionPlan p;
        final int n;
        final int[] slotStart;
        final int[] entryTx;
        final int[] posFrom;
        final int[] posTo;
        final AtomicReferenceArray<Version> mv;
        final int[] readTx;
        final int[] readInc;
        final boolean[] wroteFrom;
        final boolean[] wroteTo;
        final long[] feeOf;
        final long[] supplyOf;
        final int[] status;
        final int[] incarnation;
        final Object[] locks;
        final int[][] dependents;
        final int[] dependentCount;
        final AtomicInteger executionIdx = new AtomicInteger();
        final AtomicInteger validationIdx = new AtomicInteger();
        final AtomicInteger numActive = new AtomicInteger();
        final AtomicLong decreaseCnt = new AtomicLong();
        volatile boolean done;

        Run(ExecutionPlan p) {
            this.p = p;
            n = p.size();
            int slots = p.slots();
            slotStart = new int[slots + 1];
            posFrom = new int[n];
            posTo = new int[n];
            for (int i = 0; i < n; i++) {
                int from = p.senderSlot(i);
                int to = p.recipientSlot(i);
                slotStart[from + 1]++;
                if (to >= 0 && to != from) {
                    slotStart[to + 1]++;
                }
            }
            for (int s = 0; s < slots; s++) {
                slotStart[s + 1] += slotStart[s];
            }
            int[] fill = Arrays.copyOf(slotStart, slots);
            entryTx = new int[slotStart[slots]];
            for (int i = 0; i < n; i++) {
                int from = p.senderSlot(i);
                int to = p.recipientSlot(i);
                posFrom[i] = fill[from]++;
                entryTx[posFrom[i]] = i;
                if (to >= 0 && to != from) {
                    posTo[i] = fill[to]++;
                    entryTx[posTo[i]] = i;
                } else {
                    posTo[i] = -1;
                }
            }
            mv = new AtomicReferenceArray<>(entryTx.length);
            readTx = new int[2 * n];
            readInc = new int[2 * n];
            wroteFrom = new boolean[n];
            wroteTo = new boolean[n];
            feeOf = new long[n];
            supplyOf = new long[n];
            status = new int[n];
            incarnation = new int[n];
            locks = new Object[n];
            for (int i = 0; i < n; i++) {
                locks[i] = new Object();
            }
            dependents = new int[n][];
            dependentCount = new int[n];
        }

        /** Per-worker scratch: the transaction's local view and the last read's result. */
        private final class Worker {
            final ExecutionPlan.Scratch local = new ExecutionPlan.Scratch();
            int foundTx;
            int foundInc;
            Version found;

            /** Reads slot s for the transaction at cell pos; returns the blocking tx on an ESTIMATE, else -1. */
            int read(int s, int pos) {
                for (int q = pos - 1; q >= slotStart[s]; q--) {
                    Version v = mv.get(q);
                    if (v != null) {
                        if (v.estimate()) {
                            return entryTx[q];
                        }
                        foundTx = entryTx[q];
                        foundInc = v.incarnation();
                        found = v;
                        return -1;
                    }
                }
                foundTx = BASE;
                foundInc = 0;
                found = null;
                return -1;
            }

            void load(int k, int s) {
                if (found == null) {
                    local.set(k, p.balance(s), p.stake(s), p.nonce(s));
                } else {
                    local.set(k, found.bal(), found.stk(), found.non());
                }
            }

            long execute(int i, int inc) {
                int s = p.senderSlot(i);
                int r = p.recipientSlot(i);
                boolean second = posTo[i] >= 0;
                while (true) {
                    int blocking = read(s, posFrom[i]);
                    if (blocking >= 0) {
                        if (addDependency(i, blocking)) {
                            return NONE;
                        }
                        continue;
                    }
                    load(0, s);
                    readTx[2 * i] = foundTx;
                    readInc[2 * i] = foundInc;
                    if (second) {
                        blocking = read(r, posTo[i]);
                        if (blocking >= 0) {
                            if (addDependency(i, blocking)) {
                                return NONE;
                            }
                            continue;
                        }
                        load(1, r);
                        readTx[2 * i + 1] = foundTx;
                        readInc[2 * i + 1] = foundInc;
                    } else {
                        readTx[2 * i + 1] = NO_READ;
                    }
                    break;
                }
                p.applyTo(i, local);
                feeOf[i] = local.fee();
                supplyOf[i] = local.supply();
                boolean newLocation = false;
                boolean fromWritten = local.written(0);
                if (fromWritten) {
                    mv.set(posFrom[i], new Version(inc, false, local.balance(0), local.stake(0), local.nonce(0)));
                    newLocation |= !wroteFrom[i];
                } else if (wroteFrom[i]) {
                    mv.set(posFrom[i], null);
                }
                wroteFrom[i] = fromWritten;
                boolean toWritten = second && local.written(1);
                if (toWritten) {
                    mv.set(posTo[i], new Version(inc, false, local.balance(1), local.stake(1), local.nonce(1)));
                    newLocation |= !wroteTo[i];
                } else if (second && wroteTo[i]) {
                    mv.set(posTo[i], null);
                }
                wroteTo[i] = toWritten;
                return finishExecution(i, inc, newLocation);
            }

            private boolean readStillValid(int k, int s, int pos) {
                if (read(s, pos) >= 0) {
                    return false;
                }
                return foundTx == readTx[k] && (foundTx == BASE || foundInc == readInc[k]);
            }

            long validate(int i, int inc) {
                boolean valid = readStillValid(2 * i, p.senderSlot(i), posFrom[i])
                        && (readTx[2 * i + 1] == NO_READ || readStillValid(2 * i + 1, p.recipientSlot(i), posTo[i]));
                boolean aborted = !valid && tryValidationAbort(i, inc);
                if (aborted) {
                    if (wroteFrom[i]) {
                        mv.set(posFrom[i], mv.get(posFrom[i]).asEstimate());
                    }
                    if (wroteTo[i]) {
                        mv.set(posTo[i], mv.get(posTo[i]).asEstimate());
                    }
                }
                return finishValidation(i, aborted);
            }
        }

        void work() {
            Worker w = new Worker();
            long task = NONE;
            while (!done) {
                if (task == NONE) {
                    task = nextTask();
                    if (task == NONE) {
                        Thread.onSpinWait();
                    }
                    continue;
                }
                int i = (int) task;
                int inc = (int) ((task & ~VALIDATION_FLAG) >>> 32);
                task = (task & VALIDATION_FLAG) != 0 ? w.validate(i, inc) : w.execute(i, inc);
            }
        }

        private static long task(int i, int inc, boolean validation) {
            return ((long) inc << 32) | i | (validation ? VALIDATION_FLAG : 0);
        }

        long nextTask() {
            if (validationIdx.get() < executionIdx.get()) {
                return nextVersionToValidate();
            }
            return nextVersionToExecute();
        }

        private void checkDone() {
            long observed = decreaseCnt.get();
            if (Math.min(executionIdx.get(), validationIdx.get()) >= n
                    && numActive.get() == 0
                    && observed == decreaseCnt.get()) {
                done = true;
            }
        }

        private long tryIncarnate(int i) {
            if (i < n) {
                synchronized (locks[i]) {
                    if (status[i] == READY) {
                        status[i] = EXECUTING;
                        return task(i, incarnation[i], false);
                    }
                }
            }
            numActive.decrementAndGet();
            return NONE;
        }

        private long nextVersionToExecute() {
            if (executionIdx.get() >= n) {
                checkDone();
                return NONE;
            }
            numActive.incrementAndGet();
            return tryIncarnate(executionIdx.getAndIncrement());
        }

        private long nextVersionToValidate() {
            if (validationIdx.get() >= n) {
                checkDone();
                return NONE;
            }
            numActive.incrementAndGet();
            int i = validationIdx.getAndIncrement();
            if (i < n) {
                synchronized (locks[i]) {
                    if (status[i] == EXECUTED) {
                        return task(i, incarnation[i], true);
                    }
                }
            }
            numActive.decrementAndGet();
            return NONE;
        }

        /** Transaction i waits for blocking (< i); false if blocking finished meanwhile (read again). */
        boolean addDependency(int i, int blocking) {
            synchronized (locks[blocking]) {
                if (status[blocking] == EXECUTED) {
                    return false;
                }
                synchronized (locks[i]) {
                    status[i] = ABORTING;
                }
                int[] deps = dependents[blocking];
                if (deps == null) {
                    deps = new int[4];
                } else if (dependentCount[blocking] == deps.length) {
                    deps = Arrays.copyOf(deps, deps.length * 2);
                }
                deps[dependentCount[blocking]++] = i;
                dependents[blocking] = deps;
            }
            numActive.decrementAndGet();
            return true;
        }

        private void setReady(int i) {
            synchronized (locks[i]) {
                status[i] = READY;
                incarnation[i]++;
            }
        }

        long finishExecution(int i, int inc, boolean wroteNewLocation) {
            int[] deps;
            int count;
            synchronized (locks[i]) {
                status[i] = EXECUTED;
                deps = dependents[i];
                count = dependentCount[i];
                dependents[i] = null;
                dependentCount[i] = 0;
            }
            if (count > 0) {
                int min = Integer.MAX_VALUE;
                for (int k = 0; k < count; k++) {
                    setReady(deps[k]);
                    min = Math.min(min, deps[k]);
                }
                decrease(executionIdx, min);
            }
            if (validationIdx.get() > i) {
                if (wroteNewLocation) {
                    decrease(validationIdx, i);
                } else {
                    return task(i, inc, true);
                }
            }
            numActive.decrementAndGet();
            return NONE;
        }

        boolean tryValidationAbort(int i, int inc) {
            synchronized (locks[i]) {
                if (status[i] == EXECUTED && incarnation[i] == inc) {
                    status[i] = ABORTING;
                    return true;
                }
                return false;
            }
        }

        long finishValidation(int i, boolean aborted) {
            if (aborted) {
                setReady(i);
                decrease(validationIdx, i + 1);
                if (executionIdx.get() > i) {
                    long t = tryIncarnate(i);
                    if (t != NONE) {
                        return t;
                    }
                    return NONE; // tryIncarnate already released the active count
                }
            }
            numActive.decrementAndGet();
            return NONE;
        }

        private void decrease(AtomicInteger idx, int target) {
            idx.getAndUpdate(v -> Math.min(v, target));
            decreaseCnt.incrementAndGet();
        }

        /**
         * Writes each slot's last committed version and the summed deltas into the plan. The sums
         * are kept as the ledger's executors keep theirs: plain addition of non-negative terms,
         * overflow noted when a partial sum turns negative.
         */
        void materialise() {
            for (int s = 0; s < p.slots(); s++) {
                for (int q = slotStart[s + 1] - 1; q >= slotStart[s]; q--) {
                    Version v = mv.get(q);
                    if (v != null) {
                        p.write(s, v.bal(), v.stk(), v.non());
                        break;
                    }
                }
            }
            long fee = 0;
            long supply = 0;
            boolean overflow = false;
            for (int i = 0; i < n; i++) {
                fee += feeOf[i];
                overflow |= fee < 0;
                supply += supplyOf[i];
                overflow |= supply < 0;
            }
            p.addDeltas(fee, supply, overflow);
        }
    }
}
