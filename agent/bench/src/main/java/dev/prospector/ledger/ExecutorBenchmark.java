package dev.prospector.ledger;

// In the ledger's package (from the bench module) to measure its package-private parts.

import dev.prospector.bench.stm.BlockStmExecutor;
import java.io.PrintStream;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ForkJoinPool;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * {@code prospector bench executor}: validates the same block, at the same height of the same
 * shard, sequentially and in parallel at 1..cores threads, at low, medium and full contention,
 * with and without signature checks. Each block is checked and rolled back, so every run starts
 * from identical state. Runs of one repetition are interleaved across modes so that load from
 * other processes hits all modes alike; figures are medians.
 */
public final class ExecutorBenchmark {
    /** Contention levels: probability that a transfer pays the one hot account. */
    static final double LOW = 0.0;

    static final double MEDIUM = 0.5;
    static final double FULL = 1.0;
    /** Unmeasured blocks per mode before the first measurement: C2 compiles the hot paths meanwhile. */
    static final int WARMUP_BLOCKS = 6;
    /** Signatures per task in the verify-only baseline: the grain BlockValidator uses. */
    private static final int VERIFY_GRAIN = 64;

    /** Which parallel executor the "parallel" rows measure. */
    public enum ParallelKind {
        LANES,
        BLOCK_STM
    }

    public record Settings(
            int accounts,
            int txs,
            int repeats,
            int maxThreads,
            long seed,
            ParallelKind parallel,
            boolean withSignatures) {
        public Settings(int accounts, int txs, int repeats, int maxThreads, long seed) {
            this(accounts, txs, repeats, maxThreads, seed, ParallelKind.LANES, true);
        }

        public Settings {
            if (accounts < 2 || txs < 1 || repeats < 1 || maxThreads < 1) {
                throw new IllegalArgumentException(
                        "--accounts >= 2, --txs >= 1, --repeats >= 1 and --threads >= 1 are required");
            }
        }
    }

    public record Row(
            String mode,
            int threads,
            String contention,
            boolean signatures,
            int accounts,
            int txs,
            double seconds,
            double tps,
            String stateRoot) {
        public String toJson() {
            return String.format(
                    Locale.ROOT,
                    "{\"mode\": \"%s\", \"threads\": %d, \"contention\": \"%s\", \"signatures\": %b, \"accounts\": %d, "
                            + "\"txs\": %d, \"seconds\": %.6f, \"tps\": %.1f, \"state_root\": \"%s\"}",
                    mode,
                    threads,
                    contention,
                    signatures,
                    accounts,
                    txs,
                    seconds,
                    tps,
                    stateRoot);
        }

        public String toText() {
            return String.format(
                    Locale.ROOT,
                    "%-10s %2d  %-6s  sig=%-5b %9d acc %6d tx  %8.2f ms  %10.0f tx/s  %s",
                    mode,
                    threads,
                    contention,
                    signatures,
                    accounts,
                    txs,
                    seconds * 1e3,
                    tps,
                    stateRoot);
        }
    }

    /** Everything one run measured. */
    /**
     * Everything one run measured. {@code bestSeconds} holds, per row (same order), the fastest
     * run: on a shared machine, interference only ever adds time, so the minimum is the better
     * estimate of the code's own cost, the median of what a user sees.
     */
    public record Result(
            List<Row> rows,
            List<Double> bestSeconds,
            double verifyRateAllCores,
            double verifyRateOneCore,
            double jdkVerifyRateOneCore,
            long shardHeapBytes) {}

    private ExecutorBenchmark() {}

    public static Result run(Settings s, PrintStream progress) throws MalformedException {
        progress.printf(Locale.ROOT, "building a %,d-account shard...%n", s.accounts());
        Workload w = Workload.start(new Workload.Spec(s.accounts(), s.txs(), 0, 0, s.seed()));
        Chain chain = w.builder().chain();
        chain.state().root(null);
        String[] names = {"low", "medium", "full"};
        double[] levels = {LOW, MEDIUM, FULL};
        byte[][] blocks = new byte[3][];
        for (int c = 0; c < 3; c++) {
            progress.printf(Locale.ROOT, "signing a %,d-transaction block at %s contention...%n", s.txs(), names[c]);
            w.rewindNonces();
            blocks[c] = w.builder().draft(w.nextTxs(s.txs(), levels[c])).seal();
        }

        List<ForkJoinPool> pools = new ArrayList<>();
        List<BlockValidator[]> modes = new ArrayList<>();
        modes.add(new BlockValidator[] {
            new BlockValidator(new SequentialBlockExecutor(), false),
            new BlockValidator(new SequentialBlockExecutor(), true)
        });
        for (int t = 1; t <= s.maxThreads(); t++) {
            ForkJoinPool p = new ForkJoinPool(t);
            pools.add(p);
            ShardExecutor ex =
                    s.parallel() == ParallelKind.LANES ? new ParallelBlockExecutor(p) : new BlockStmExecutor(p);
            modes.add(new BlockValidator[] {new BlockValidator(ex, false), new BlockValidator(ex, true)});
        }
        List<Row> rows = new ArrayList<>();
        List<Double> best = new ArrayList<>();
        ForkJoinPool all = pools.get(pools.size() - 1);
        List<Long> verifyNanos = new ArrayList<>();
        List<Long> verifyOneNanos = new ArrayList<>();
        try {
            progress.println("warming up (JIT) on every mode...");
            for (int k = 0; k < WARMUP_BLOCKS; k++) {
                for (BlockValidator[] mode : modes) {
                    once(mode[0], blocks[k % 3], chain);
                }
            }
            if (s.withSignatures()) {
                for (BlockValidator[] mode : modes) {
                    once(mode[1], blocks[0], chain);
                }
            }
            for (int sig = 0; sig < (s.withSignatures() ? 2 : 1); sig++) {
                for (int c = 0; c < 3; c++) {
                    progress.printf(
                            Locale.ROOT,
                            "measuring %s contention, signatures %s...%n",
                            names[c],
                            sig == 1 ? "checked" : "skipped");
                    long[][] nanos = new long[modes.size()][s.repeats()];
                    String[] roots = new String[modes.size()];
                    for (int m = 0; m < modes.size(); m++) {
                        once(modes.get(m)[sig], blocks[c], chain); // warm-up, not counted
                    }
                    for (int r = 0; r < s.repeats(); r++) {
                        for (int m = 0; m < modes.size(); m++) {
                            BlockVerdict.Valid v = once(modes.get(m)[sig], blocks[c], chain);
                            nanos[m][r] = v.timings().totalNanos();
                            roots[m] = Bytes.hex(v.stateRoot());
                        }
                        if (sig == 1) {
                            // The verify-only baseline runs inside the same repetitions, under the same load.
                            verifyNanos.add(verifyNanos(blocks[c], all));
                            verifyOneNanos.add(verifyNanos(blocks[c], null));
                        }
                    }
                    for (int m = 0; m < modes.size(); m++) {
                        double sec = median(nanos[m]) / 1e9;
                        rows.add(new Row(
                                m == 0 ? "sequential" : "parallel",
                                m == 0 ? 1 : m,
                                names[c],
                                sig == 1,
                                s.accounts(),
                                s.txs(),
                                sec,
                                s.txs() / sec,
                                roots[m]));
                        best.add(Arrays.stream(nanos[m]).min().orElseThrow() / 1e9);
                    }
                }
            }
            double allCores = verifyNanos.isEmpty()
                    ? verifyRate(blocks[0], all, s.repeats())
                    : s.txs()
                            / (median(verifyNanos.stream()
                                            .mapToLong(Long::longValue)
                                            .toArray())
                                    / 1e9);
            double oneCore = verifyOneNanos.isEmpty()
                    ? verifyRate(blocks[0], null, s.repeats())
                    : s.txs()
                            / (median(verifyOneNanos.stream()
                                            .mapToLong(Long::longValue)
                                            .toArray())
                                    / 1e9);
            double jdk = jdkVerifyRate(Math.min(2_000, s.txs()));
            return new Result(rows, best, allCores, oneCore, jdk, chain.state().heapBytes());
        } finally {
            pools.forEach(ForkJoinPool::shutdown);
        }
    }

    private static BlockVerdict.Valid once(BlockValidator v, byte[] block, Chain chain) {
        BlockVerdict verdict = v.check(block, chain);
        chain.state().root(v.executor().pool()); // rehash the rollback outside the measured time
        if (verdict instanceof BlockVerdict.Valid ok) {
            return ok;
        }
        throw new IllegalStateException("benchmark block rejected: " + verdict);
    }

    /** Ed25519 verifications per second of the block's own signatures, on the pool's threads. */
    private static double verifyRate(byte[] block, ForkJoinPool pool, int repeats) {
        int n = Bytes.getInt(block, 152);
        long[] nanos = new long[repeats];
        for (int r = 0; r < repeats; r++) {
            nanos[r] = verifyNanos(block, pool);
        }
        return n / (median(nanos) / 1e9);
    }

    private static long verifyNanos(byte[] block, ForkJoinPool pool) {
        int n = Bytes.getInt(block, 152);
        long t0 = System.nanoTime();
        Parallel.forRange(pool, n, VERIFY_GRAIN, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                if (!Tx.verifySignature(block, BlockHeader.SIZE + i * Tx.SIZE)) {
                    throw new IllegalStateException("benchmark signature does not verify");
                }
            }
        });
        return System.nanoTime() - t0;
    }

    /** The JDK's own Ed25519 on one core, to justify using Bouncy Castle's. */
    private static double jdkVerifyRate(int n) {
        try {
            KeyPairGenerator kpg = KeyPairGenerator.getInstance("Ed25519");
            var kp = kpg.generateKeyPair();
            PrivateKey sk = kp.getPrivate();
            PublicKey pk = kp.getPublic();
            byte[] msg = new byte[Tx.BODY_SIZE];
            Signature signer = Signature.getInstance("Ed25519");
            signer.initSign(sk);
            signer.update(msg);
            byte[] sig = signer.sign();
            Signature verifier = Signature.getInstance("Ed25519");
            for (int warm = 0; warm < 200; warm++) {
                verifier.initVerify(pk);
                verifier.update(msg);
                verifier.verify(sig);
            }
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                verifier.initVerify(pk);
                verifier.update(msg);
                if (!verifier.verify(sig)) {
                    throw new IllegalStateException("JDK Ed25519 rejected its own signature");
                }
            }
            return n / ((System.nanoTime() - t0) / 1e9);
        } catch (java.security.GeneralSecurityException e) {
            return Double.NaN;
        }
    }

    static double median(long[] xs) {
        long[] c = xs.clone();
        Arrays.sort(c);
        int m = c.length / 2;
        return c.length % 2 == 1 ? c[m] : (c[m - 1] + c[m]) / 2.0;
    }

    /** Keeps Bouncy Castle's precomputed tables out of the first measured run. */
    static {
        Ed25519.precompute();
    }
}
