package dev.prospector.bench.jmh;

import dev.prospector.bench.stm.BlockStmExecutor;
import dev.prospector.ledger.BlockValidator;
import dev.prospector.ledger.BlockVerdict;
import dev.prospector.ledger.Chain;
import dev.prospector.ledger.ExecutionPlan;
import dev.prospector.ledger.MalformedException;
import dev.prospector.ledger.ParallelBlockExecutor;
import dev.prospector.ledger.SequentialBlockExecutor;
import dev.prospector.ledger.ShardExecutor;
import dev.prospector.ledger.Tx;
import dev.prospector.ledger.Workload;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Each ledger executor on one block, built as {@code prospector bench executor} builds its blocks
 * ({@link Workload}: transfers between genesis accounts, signed, at low contention or with every
 * transfer paying one hot account), on a small state so that one call is a few milliseconds.
 *
 * <ul>
 *   <li>{@code validateBlock}: {@link BlockValidator#check} with signatures taken as checked (the
 *       {@code sig=false} rows of {@code bench executor}): decoding, transaction root, execution
 *       plan, execution, commit and state root, then the rollback. The rollback's rehash happens
 *       after each call, outside the measured time.</li>
 *   <li>{@code execute}: {@link ShardExecutor#execute} alone, on a fresh {@link ExecutionPlan} built
 *       before each call: the part where the executors differ.</li>
 * </ul>
 * The parallel executors run on a pool of as many threads as the JVM sees processors.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ShardExecutorBenchmark {
    /** The chain, one block at its next height, and the executor under test. */
    @State(Scope.Thread)
    public static class Block {
        @Param({"sequential", "lanes", "block-stm"})
        String executor;
        /** {@code low}: random recipients; {@code full}: every transfer pays the same account. */
        @Param({"low", "full"})
        String contention;

        @Param("20000")
        int accounts;

        @Param("2000")
        int txs;

        Chain chain;
        byte[] block;
        Tx[] transactions;
        ForkJoinPool pool;
        ShardExecutor shardExecutor;
        BlockValidator validator;

        @Setup(Level.Trial)
        public void build() throws MalformedException {
            double level = switch (contention) {
                case "low" -> 0.0;
                case "full" -> 1.0;
                default -> throw new IllegalArgumentException("contention must be low or full, not " + contention);
            };
            Workload w = Workload.start(new Workload.Spec(accounts, txs, 0, 0, 42));
            chain = w.builder().chain();
            chain.state().root(null);
            transactions = w.nextTxs(txs, level);
            block = w.builder().draft(transactions).seal();
            pool = new ForkJoinPool(Runtime.getRuntime().availableProcessors());
            shardExecutor = switch (executor) {
                case "sequential" -> new SequentialBlockExecutor();
                case "lanes" -> new ParallelBlockExecutor(pool);
                case "block-stm" -> new BlockStmExecutor(pool);
                default ->
                    throw new IllegalArgumentException(
                            "executor must be sequential, lanes or block-stm, not " + executor);
            };
            validator = new BlockValidator(shardExecutor, false);
        }

        @TearDown(Level.Trial)
        public void stop() {
            pool.shutdown();
        }
    }

    /** Rehashes what the rollback of the last checked block touched, outside the measured time. */
    @State(Scope.Thread)
    public static class Rehash {
        @TearDown(Level.Invocation)
        public void rehash(Block b) {
            b.chain.state().root(b.shardExecutor.pool());
        }
    }

    /** An execution plan of the block, not yet executed. */
    @State(Scope.Thread)
    public static class FreshPlan {
        ExecutionPlan plan;

        @Setup(Level.Invocation)
        public void build(Block b) {
            plan = ExecutionPlan.build(
                    b.chain.state(), b.transactions, b.chain.params().rewardKey(), b.shardExecutor.pool());
        }

        @TearDown(Level.Invocation)
        public void succeeded() {
            if (plan.firstFailure() >= 0) {
                throw new IllegalStateException("benchmark transaction " + plan.firstFailure() + " failed");
            }
        }
    }

    @Benchmark
    public BlockVerdict validateBlock(Block b, Rehash r) {
        BlockVerdict v = b.validator.check(b.block, b.chain);
        if (!(v instanceof BlockVerdict.Valid)) {
            throw new IllegalStateException("benchmark block rejected: " + v);
        }
        return v;
    }

    @Benchmark
    public ExecutionPlan execute(Block b, FreshPlan p) {
        b.shardExecutor.execute(p.plan);
        return p.plan;
    }
}
