package dev.prospector.ledger;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ForkJoinPool;

/**
 * A board's copy of one ledger shard: the transport-neutral entry the MQTT side wires to.
 * {@link #onBlock} takes a block's bytes as they arrive on {@code prospector/v1/<fleet>/ledger/<shard>/block}
 * and returns the signed attestation to publish on {@code .../ledger/<shard>/attest/<device>}.
 *
 * <p>Crash safety: a valid block is appended to the block log and forced to the device before its
 * attestation is returned; every {@code snapshotEvery} blocks the whole state is snapshotted.
 * {@link #open} loads the snapshot, replays the log after it (signatures are not checked again:
 * only blocks this node validated are in the log) and truncates a torn tail, so after kill -9 the
 * node resumes at the last complete block with its root. A block that arrives again after a crash
 * (MQTT QoS 1 redelivers) is attested valid again rather than rejected for its height.
 *
 * <p>Calls are serialised on this object; the parallelism is inside a block.
 */
public final class LedgerNode implements AutoCloseable {
    /** Recent valid blocks remembered for re-attesting redelivered blocks. */
    private static final int RECENT_BLOCKS = 64;

    private static final String LOG_FILE = "blocks.log";

    /**
     * How a node runs. {@code dataDir} empty keeps everything in memory (tools, tests);
     * {@code snapshotEvery} is in blocks (a 1M-account snapshot is ~56 MB: SD cards wear).
     */
    public record Config(Optional<Path> dataDir, int threads, int snapshotEvery, boolean checkSignatures) {
        public Config {
            if (threads < 1) {
                throw new IllegalArgumentException("ledger threads must be at least 1, got " + threads);
            }
            if (snapshotEvery < 1) {
                throw new IllegalArgumentException(
                        "ledger snapshot interval must be at least 1 block, got " + snapshotEvery);
            }
        }

        public static Config inMemory(int threads) {
            return new Config(Optional.empty(), threads, Integer.MAX_VALUE, true);
        }
    }

    private final Genesis genesis;
    private final Config config;
    private final AttestationSigner signer;
    private final ForkJoinPool pool;
    /** The shard's state and head: single-writer, so every access holds this node's monitor. */
    @GuardedBy("this")
    private final Chain chain;

    private final BlockValidator validator;

    @GuardedBy("this")
    private final BlockLog log;

    @GuardedBy("this")
    private final SnapshotStore snapshots;

    private final int replayed;

    @GuardedBy("this")
    private long blocksSinceSnapshot;

    @GuardedBy("this")
    private final Map<Long, BlockVerdict.Valid> recent = new LinkedHashMap<>(16, 0.75f, false) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, BlockVerdict.Valid> e) {
            return size() > RECENT_BLOCKS;
        }
    };

    private LedgerNode(
            Genesis genesis,
            Config config,
            AttestationSigner signer,
            ForkJoinPool pool,
            Chain chain,
            BlockLog log,
            SnapshotStore snapshots,
            int replayed) {
        this.genesis = genesis;
        this.config = config;
        this.signer = signer;
        this.pool = pool;
        this.chain = chain;
        this.validator = new BlockValidator(executorFor(pool), config.checkSignatures());
        this.log = log;
        this.snapshots = snapshots;
        this.replayed = replayed;
    }

    static ShardExecutor executorFor(ForkJoinPool pool) {
        return pool == null ? new SequentialBlockExecutor() : new ParallelBlockExecutor(pool);
    }

    /** Opens (and, with a data directory, recovers) the node. */
    public static LedgerNode open(Genesis genesis, Config config, AttestationSigner signer)
            throws IOException, MalformedException {
        ForkJoinPool pool = config.threads() > 1 ? new ForkJoinPool(config.threads()) : null;
        try {
            if (config.dataDir().isEmpty()) {
                return new LedgerNode(genesis, config, signer, pool, Chain.fromGenesis(genesis), null, null, 0);
            }
            Path dir = config.dataDir().get();
            Files.createDirectories(dir);
            SnapshotStore snapshots = new SnapshotStore(dir);
            Optional<SnapshotStore.Loaded> snap = snapshots.load(genesis.params(), genesis.hash(), pool);
            Chain chain = snap.isPresent() ? snap.get().chain() : Chain.fromGenesis(genesis);
            long from = snap.map(SnapshotStore.Loaded::logOffset).orElse(0L);
            BlockValidator replay = new BlockValidator(executorFor(pool), false);
            int[] count = {0};
            BlockLog log = BlockLog.open(dir.resolve(LOG_FILE), from, (block, end) -> {
                BlockVerdict v = replay.apply(block, chain);
                if (v instanceof BlockVerdict.Invalid bad) {
                    return bad.reason().code() + ": " + bad.detail();
                }
                count[0]++;
                return null;
            });
            return new LedgerNode(genesis, config, signer, pool, chain, log, snapshots, count[0]);
        } catch (IOException | MalformedException | RuntimeException e) {
            if (pool != null) {
                pool.shutdownNow();
            }
            throw e;
        }
    }

    /** Validates a block, persists it if valid, and returns the signed attestation to publish. */
    public synchronized Attestation onBlock(byte[] encodedBlock) {
        BlockVerdict v = apply(encodedBlock);
        byte[] root = v instanceof BlockVerdict.Valid ok
                ? ok.stateRoot()
                : chain.state().root(pool);
        return Attestation.sign(chain.params().shard(), v, root, signer);
    }

    /** Validates and persists a block without attesting (tools). */
    public synchronized BlockVerdict apply(byte[] encodedBlock) {
        BlockVerdict v = validator.apply(encodedBlock, chain);
        if (v instanceof BlockVerdict.Invalid inv && inv.reason() == InvalidReason.WRONG_HEIGHT) {
            BlockVerdict.Valid seen = recent.get(inv.height());
            if (seen != null && Arrays.equals(seen.blockHash(), inv.blockHash())) {
                return seen;
            }
        }
        if (v instanceof BlockVerdict.Valid ok) {
            recent.put(ok.height(), ok);
            persist(encodedBlock);
        }
        return v;
    }

    @GuardedBy("this")
    private void persist(byte[] block) {
        if (log == null) {
            return;
        }
        try {
            long end = log.append(block);
            if (++blocksSinceSnapshot >= config.snapshotEvery()) {
                snapshots.write(chain, genesis.hash(), end);
                blocksSinceSnapshot = 0;
            }
        } catch (IOException e) {
            // The in-memory state is ahead of the disk now; only a restart (which recovers from the
            // log) makes them agree again, so the node refuses further blocks.
            throw new UncheckedIOException(
                    "cannot persist block " + chain.height() + ": " + e.getMessage()
                            + "; restart the agent once the data directory is writable",
                    e);
        }
    }

    /** Writes a snapshot now (e.g. on orderly shutdown). */
    public synchronized void snapshot() throws IOException {
        if (snapshots != null) {
            snapshots.write(chain, genesis.hash(), log.end());
            blocksSinceSnapshot = 0;
        }
    }

    public synchronized long height() {
        return chain.height();
    }

    public synchronized byte[] headHash() {
        return chain.headHash();
    }

    public synchronized byte[] stateRoot() {
        return chain.state().root(pool);
    }

    public synchronized Optional<Account> account(Address a) {
        return chain.state().account(a);
    }

    /** A proof of the address's account (or of its absence) against {@link #stateRoot()}. */
    public synchronized AccountProof prove(Address a) {
        return chain.state().prove(a, pool);
    }

    public LedgerParams params() {
        return genesis.params(); // the chain's, and immutable: no lock needed
    }

    /** Blocks replayed from the log when this node was opened (after the snapshot, if any). */
    public int replayedBlocks() {
        return replayed;
    }

    @Override
    public synchronized void close() throws IOException {
        if (pool != null) {
            pool.shutdown();
        }
        if (log != null) {
            log.close();
        }
    }
}
