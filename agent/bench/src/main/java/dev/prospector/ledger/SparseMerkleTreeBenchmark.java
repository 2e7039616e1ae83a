package dev.prospector.ledger;

// In the ledger's package (from the bench module): the tree and ShardState.set are package-private.

import java.util.SplittableRandom;
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
 * The sparse Merkle tree behind the state root: write {@code leaves} existing accounts of a
 * {@code accounts}-account shard (new balances, so every leaf changes) and compute the root, which
 * rehashes those leaves and the paths above them. The accounts are taken in turn from a shuffled
 * order, so the leaves of one call are distinct and spread over the tree as a block's are. With
 * {@code threads} 1 the root is computed on the calling thread, otherwise on a fork/join pool of
 * that many threads, as the parallel executors do.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SparseMerkleTreeBenchmark {
    @Param("20000")
    int accounts;

    @Param({"100", "2000"})
    int leaves;

    @Param({"1", "2"})
    int threads;

    private ShardState state;
    private int[] order;
    private int cursor;
    private ForkJoinPool pool;

    @Setup(Level.Trial)
    public void build() {
        if (leaves > accounts) {
            throw new IllegalArgumentException("leaves (" + leaves + ") must not exceed accounts (" + accounts + ")");
        }
        var random = new SplittableRandom(42);
        state = new ShardState(accounts, Workload.MIN_VALIDATOR_STAKE);
        byte[] address = new byte[Address.SIZE];
        for (int i = 0; i < accounts; i++) {
            for (int k = 0; k < Address.SIZE; k += 8) {
                Bytes.putLong(address, k, random.nextLong());
            }
            state.add(Address.of(address), 1_000, 0, 0);
        }
        state.root(null);
        order = new int[accounts];
        for (int i = 0; i < accounts; i++) {
            order[i] = i;
        }
        for (int i = accounts - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        pool = threads > 1 ? new ForkJoinPool(threads) : null;
    }

    @TearDown(Level.Trial)
    public void stop() {
        if (pool != null) {
            pool.shutdown();
        }
    }

    @Benchmark
    public byte[] updateAndRoot() {
        for (int k = 0; k < leaves; k++) {
            int i = order[cursor];
            cursor = cursor + 1 == order.length ? 0 : cursor + 1;
            state.set(i, state.balance[i] + 1, state.stake[i], state.nonce[i]);
        }
        return state.root(pool);
    }
}
