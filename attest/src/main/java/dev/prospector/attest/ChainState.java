package dev.prospector.attest;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Optional;
import org.tinylog.Logger;

/**
 * The device's position in its hash chain: chain id, last seq, hash of the last report.
 *
 * <p>Crash safety: {@link ReportSigner} hands each new report to the caller's store (the agent's
 * outbox journal) and then calls {@link #advance} with its seq and hash, both before the report is
 * released. Without a store ({@link #open} alone) {@code advance} replaces the state file
 * atomically (temp file, fsync, rename, fsync directory) for every report. With a store that keeps
 * the chain's newest report durably ({@link #checkpointRarely}) the store is the record of the
 * position and the file is only a checkpoint, written for the first report of a chain, every
 * {@code n} reports or {@code t}, at {@link #checkpoint} (clean stop) and when the position is
 * recovered. After kill -9 at any point the file holds some earlier position of the chain; at the
 * next start {@link #reconcile} moves the state to the store's newest report (from its seq and
 * hash) when the store vouches for it (see there); if the report was not stored, its seq is simply
 * made again. Either way a seq is never used for two different released reports and the chain never
 * forks.
 *
 * <p>When the file is missing or unreadable (a new SD card, a corrupted file), a new chain starts:
 * new random chain id, seq 1, no prev, and a {@code restart} claim saying why
 * ({@link #RESTART_NO_STATE} or {@link #RESTART_CORRUPT_STATE}).
 *
 * <p>File {@code chain.state}: CBOR map {@code {"chain": bstr(16), "seq": uint, "prev": bstr(32),
 * "delivered": uint}} ({@code prev} absent before the first report; {@code delivered}, the highest
 * seq up to which every report of the chain was known delivered when the file was written, absent
 * when 0).
 */
public final class ChainState {
    public static final String FILE = "chain.state";
    /** Restart reason: no state file existed. */
    public static final String RESTART_NO_STATE = "no-state";
    /** Restart reason: the state file could not be read. */
    public static final String RESTART_CORRUPT_STATE = "corrupt-state";
    /**
     * Restart reason: the state file is behind (or of another chain than) the device's own store of
     * reports, so its seqs may already be used: it was rolled back or restored from an old copy.
     */
    public static final String RESTART_STATE_BEHIND = "state-behind-outbox";
    /**
     * Restart reason: the device's store of reports (its outbox) was missing or unusable while the
     * chain state said reports had been made; whether the last of them was sent cannot be known.
     */
    public static final String RESTART_STORE_LOST = "outbox-lost";

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Optional<Path> file;

    @GuardedBy("this")
    private byte[] chain;

    @GuardedBy("this")
    private long seq;

    @GuardedBy("this")
    private Optional<byte[]> prev;

    @GuardedBy("this")
    private Optional<String> restart;

    @GuardedBy("this")
    private long delivered;

    /** The position last written to the file (seq 0 and no chain: none written by this process yet). */
    @GuardedBy("this")
    private long persistedSeq;

    @GuardedBy("this")
    private byte[] persistedChain = new byte[0];

    @GuardedBy("this")
    private long persistedAtNanos = System.nanoTime();

    /** Checkpoint every this many reports; 1: every report (no store keeps the position). */
    @GuardedBy("this")
    private long checkpointReports = 1;

    @GuardedBy("this")
    private long checkpointNanos;

    @GuardedBy("this")
    private java.util.function.Consumer<Checkpoint> onCheckpoint = c -> {};

    private ChainState(
            Optional<Path> file,
            byte[] chain,
            long seq,
            Optional<byte[]> prev,
            Optional<String> restart,
            long delivered) {
        this.file = file;
        this.chain = chain;
        this.seq = seq;
        this.prev = prev;
        this.restart = restart;
        this.delivered = delivered;
    }

    /** Opens (or starts) the chain state kept in {@code stateDir/chain.state}. */
    public static ChainState open(Path stateDir) {
        Path f = stateDir.resolve(FILE);
        try {
            byte[] bytes = Files.readAllBytes(f);
            if (!(Cbor.decode(bytes) instanceof Cbor.MapValue m)) {
                throw new MalformedReportException("not a CBOR map");
            }
            byte[] chain = Claims.bytes(m, "chain", Claims.CHAIN_ID_BYTES, Claims.CHAIN_ID_BYTES);
            long seq = Claims.uint(m, "seq");
            Optional<byte[]> prev = m.get("prev").isPresent()
                    ? Optional.of(Claims.bytes(m, "prev", Claims.HASH_BYTES, Claims.HASH_BYTES))
                    : Optional.empty();
            if ((seq == 0) != prev.isEmpty()) {
                throw new MalformedReportException("seq and prev disagree");
            }
            long delivered = m.get("delivered").isPresent() ? Claims.uint(m, "delivered") : 0;
            if (delivered > seq) {
                throw new MalformedReportException("delivered is beyond seq");
            }
            var state = new ChainState(
                    Optional.of(f),
                    chain,
                    seq,
                    prev,
                    seq == 0 ? Optional.of(RESTART_NO_STATE) : Optional.empty(),
                    delivered);
            state.markPersisted();
            return state;
        } catch (NoSuchFileException e) {
            Logger.info("No chain state at {}: starting a new report chain", f);
            return fresh(Optional.of(f), RESTART_NO_STATE);
        } catch (IOException | MalformedReportException e) {
            Logger.warn(
                    "Chain state {} is unreadable ({}): starting a new report chain; the verifier will record a restart",
                    f,
                    e.getMessage());
            return fresh(Optional.of(f), RESTART_CORRUPT_STATE);
        }
    }

    /** A chain state that lives only in memory (tests, benchmarks, one-shot reports). */
    public static ChainState inMemory() {
        return fresh(Optional.empty(), RESTART_NO_STATE);
    }

    private static ChainState fresh(Optional<Path> file, String reason) {
        byte[] chain = new byte[Claims.CHAIN_ID_BYTES];
        RANDOM.nextBytes(chain);
        return new ChainState(file, chain, 0, Optional.empty(), Optional.of(reason), 0);
    }

    @SuppressWarnings("GuardedBy") // called before the object is shared
    private void markPersisted() {
        persistedSeq = seq;
        persistedChain = chain.clone();
    }

    /** A position written to {@code chain.state}: chain id and seq. */
    public record Checkpoint(byte[] chain, long seq) {}

    /**
     * Makes the file a checkpoint instead of a per-report record, for a device whose store (the
     * agent's outbox journal) keeps every report durably before {@link #advance} and keeps the
     * newest one's seq, chain and hash (see {@link #reconcile}). The file is then written for the
     * first report of a chain, when {@code reports} reports or {@code every} have passed since the
     * last write, at {@link #checkpoint}, and after a recovery; {@code onCheckpoint} hears each
     * write once it is durable (the store records it, so that a rolled-back file can be told from a
     * checkpoint that is merely old).
     */
    public synchronized void checkpointRarely(
            int reports, java.time.Duration every, java.util.function.Consumer<Checkpoint> onCheckpoint) {
        if (reports < 1 || every.isNegative()) {
            throw new IllegalArgumentException("checkpoint every 1 or more reports and a positive time");
        }
        this.checkpointReports = reports;
        this.checkpointNanos = every.toNanos();
        this.onCheckpoint = onCheckpoint;
    }

    /** Writes the current position to the file now, if it is not there already (a clean stop). */
    public synchronized void checkpoint() {
        if (seq > 0 && (seq != persistedSeq || !java.util.Arrays.equals(chain, persistedChain))) {
            persist(seq, prev.orElseThrow());
        }
    }

    /** What the next report must carry. */
    public record Next(byte[] chain, long seq, Optional<byte[]> prev, Optional<String> restart) {}

    synchronized Next next() {
        return new Next(chain.clone(), seq + 1, prev.map(byte[]::clone), prev.isEmpty() ? restart : Optional.empty());
    }

    /**
     * Records that report {@code newSeq} with SHA-256 {@code reportHash} was made (and stored, when a
     * store keeps the position); the file is written at once, or at the next checkpoint (see
     * {@link #checkpointRarely}).
     */
    synchronized void advance(long newSeq, byte[] reportHash) {
        if (newSeq != seq + 1) {
            throw new IllegalStateException("chain state expected seq " + (seq + 1) + ", not " + newSeq);
        }
        boolean due = checkpointReports <= 1
                || newSeq == 1
                || !java.util.Arrays.equals(chain, persistedChain)
                || newSeq - persistedSeq >= checkpointReports
                || System.nanoTime() - persistedAtNanos >= checkpointNanos;
        if (due) {
            persist(newSeq, reportHash);
        }
        seq = newSeq;
        prev = Optional.of(reportHash.clone());
    }

    /** Writes position {@code newSeq} (hash {@code reportHash}) of the current chain to the file; durable on return. */
    @GuardedBy("this")
    private void persist(long newSeq, byte[] reportHash) {
        if (file.isPresent()) {
            var b = Cbor.map()
                    .put("chain", new Cbor.Bytes(chain))
                    .put("seq", new Cbor.Int(newSeq))
                    .put("prev", new Cbor.Bytes(reportHash));
            if (delivered > 0) {
                b.put("delivered", new Cbor.Int(Math.min(delivered, newSeq)));
            }
            var m = b.build();
            try {
                byte[] bytes = Cbor.encode(m);
                AtomicFiles.write(file.get(), AtomicFiles.OWNER_ONLY, out -> {
                    var buf = java.nio.ByteBuffer.wrap(bytes);
                    while (buf.hasRemaining()) {
                        out.write(buf);
                    }
                    CrashPoint.reach("checkpoint-mid-write");
                });
            } catch (IOException e) {
                throw new StateStorageException(
                        "cannot persist chain state to " + file.get() + " (" + e.getMessage()
                                + "); the report was not released; check free space and permissions of "
                                + file.get().getParent(),
                        e);
            }
            CrashPoint.reach("checkpoint-before-record");
        }
        persistedSeq = newSeq;
        persistedChain = chain.clone();
        persistedAtNanos = System.nanoTime();
        if (file.isPresent()) {
            onCheckpoint.accept(new Checkpoint(chain.clone(), newSeq));
        }
    }

    /**
     * The newest report in the device's own store (its outbox): seq, chain id (when known) and
     * SHA-256; and {@code checkpointed}, the highest seq of that report's chain whose checkpoint the
     * store recorded ({@link #checkpointRarely}), empty when the store records none for it (a store
     * that does not keep checkpoints, or a chain with no checkpoint yet).
     */
    public record Stored(long seq, Optional<byte[]> chain, byte[] sha256, java.util.OptionalLong checkpointed) {
        /** A store that records no checkpoints: the state may lag it by one report only. */
        public Stored(long seq, Optional<byte[]> chain, byte[] sha256) {
            this(seq, chain, sha256, java.util.OptionalLong.empty());
        }
    }

    /** What {@link #reconcile} found and did. */
    public sealed interface Reconciled {
        /** The chain state and the store agree. */
        record InStep() implements Reconciled {}

        /**
         * The store held reports past the chain state (a crash before the next checkpoint, or between
         * a store and the state's write): the chain moved to the store's newest, {@code seq}.
         */
        record CaughtUp(long seq) implements Reconciled {}

        /**
         * A new chain was started because the chain state could be behind what was already sent; the
         * reports {@code lostFrom..lostTo} of the old chain may never have been delivered (none when
         * {@code lostTo < lostFrom}).
         */
        record NewChain(String reason, long lostFrom, long lostTo) implements Reconciled {}

        /**
         * The store is behind the chain state: reports {@code from..to} were made but are not in it;
         * the chain's head is report {@code to} of chain {@code chain}, whose SHA-256 is {@code head}.
         */
        record StoreBehind(long from, long to, byte[] chain, byte[] head) implements Reconciled {}
    }

    /**
     * Brings the chain state in line with the newest report in the device's own store, before any
     * report is made, so that a seq is never used twice and no report is silently forgotten.
     * <ul>
     *   <li>The store is one report ahead (stored, then a crash before the chain moved): the chain
     *       moves past it ({@link Reconciled.CaughtUp}).</li>
     *   <li>The store is further ahead in the same chain and records a checkpoint of that chain at
     *       or before this state's seq: the state is an old checkpoint, which is normal with
     *       {@link #checkpointRarely} (a crash since); the chain moves to the store's newest report
     *       ({@link Reconciled.CaughtUp}), and the position is written at once.</li>
     *   <li>The store is further ahead and records no checkpoint of this chain, or a later one than
     *       this state (the file was rolled back or restored from an old copy), or holds another
     *       chain's reports while this state is not fresh: its seqs may already be in use, so a new
     *       chain starts ({@link #RESTART_STATE_BEHIND}).</li>
     *   <li>The store is empty while this chain has made reports (the store was lost): the newest
     *       report may have been sent without reaching this file, so a new chain starts
     *       ({@link #RESTART_STORE_LOST}); the reports after the delivered mark may be lost.</li>
     *   <li>The store is behind (its tail was torn or it was damaged): a torn append never returned,
     *       so its report was never sent and the chain goes on; the reports between the store's
     *       newest and this state's, past the delivered mark, are reported as possibly lost.</li>
     * </ul>
     */
    public synchronized Reconciled reconcile(Optional<Stored> stored) {
        String where = file.map(Path::toString).orElse("(in memory)");
        if (stored.isEmpty()) {
            if (seq == 0) {
                return new Reconciled.InStep();
            }
            long from = delivered + 1;
            long to = seq;
            Logger.error(
                    "the outbox is empty or missing but the chain state {} is at seq {}: starting a new chain; reports {}..{} may be lost",
                    where,
                    seq,
                    from,
                    to);
            startNewChain(RESTART_STORE_LOST);
            return new Reconciled.NewChain(RESTART_STORE_LOST, from, to);
        }
        Stored s = stored.get();
        boolean otherChain =
                s.chain().isPresent() && !java.util.Arrays.equals(s.chain().get(), chain);
        if (otherChain) {
            if (seq == 0) {
                return new Reconciled
                        .InStep(); // this state is fresh (it was missing or unreadable): already a new chain
            }
            Logger.error(
                    "the outbox's newest report is of another chain than the chain state {} (restored from an old copy?): starting a new chain",
                    where);
            startNewChain(RESTART_STATE_BEHIND);
            return new Reconciled.NewChain(RESTART_STATE_BEHIND, 1, 0);
        }
        if (s.seq() == seq) {
            return new Reconciled.InStep();
        }
        if (s.seq() == seq + 1 && (s.chain().isPresent() || seq > 0)) {
            Logger.warn(
                    "recovering chain position: report {} was stored but its chain position was not persisted (a crash)",
                    s.seq());
            moveTo(s.seq(), s.sha256());
            return new Reconciled.CaughtUp(s.seq());
        }
        if (s.seq() > seq) {
            if (s.chain().isEmpty() && seq == 0) {
                return new Reconciled.InStep(); // an outbox of the first format and a fresh state: already a new chain
            }
            if (s.chain().isPresent()
                    && seq > 0
                    && s.checkpointed().isPresent()
                    && s.checkpointed().getAsLong() <= seq) {
                Logger.info(
                        "recovering chain position: the outbox holds reports {}..{} past the checkpoint in {} (a crash before the next checkpoint)",
                        seq + 1,
                        s.seq(),
                        where);
                moveTo(s.seq(), s.sha256());
                return new Reconciled.CaughtUp(s.seq());
            }
            Logger.error(
                    "the outbox's newest report is seq {} but the chain state {} is at seq {}, behind {} (rolled back?): starting a new chain so that no seq is used twice",
                    s.seq(),
                    where,
                    seq,
                    s.checkpointed().isPresent()
                            ? "its last checkpoint " + s.checkpointed().getAsLong()
                            : "the outbox, which records no checkpoint of this chain");
            startNewChain(RESTART_STATE_BEHIND);
            return new Reconciled.NewChain(RESTART_STATE_BEHIND, 1, 0);
        }
        long from = Math.max(s.seq(), delivered) + 1;
        Logger.error(
                "the outbox's newest report is seq {} but the chain state {} is at seq {} (the outbox was damaged); reports {}..{} may be lost",
                s.seq(),
                where,
                seq,
                from,
                seq);
        return new Reconciled.StoreBehind(
                from, seq, chain.clone(), prev.orElseThrow().clone());
    }

    /** Moves to report {@code newSeq} (SHA-256 {@code hash}) of this chain, found in the store, and writes it. */
    @GuardedBy("this")
    private void moveTo(long newSeq, byte[] hash) {
        persist(newSeq, hash);
        seq = newSeq;
        prev = Optional.of(hash.clone());
    }

    /** Starts a new chain (new random id, seq 0) whose first report carries {@code reason} as its restart claim. */
    @GuardedBy("this")
    private void startNewChain(String reason) {
        RANDOM.nextBytes(chain);
        seq = 0;
        prev = Optional.empty();
        restart = Optional.of(reason);
        delivered = 0;
    }

    /**
     * Notes that every report of this chain up to {@code seq} is delivered (kept with the next
     * persisted position): what may be lost if the device's store is lost is then only what follows.
     */
    public synchronized void noteDelivered(long deliveredSeq) {
        if (deliveredSeq > delivered && deliveredSeq <= seq) {
            delivered = deliveredSeq;
        }
    }

    /** The last seq made in this chain (0 before the first report). */
    public synchronized long seq() {
        return seq;
    }

    /** The chain id. */
    public synchronized byte[] chain() {
        return chain.clone();
    }
}
