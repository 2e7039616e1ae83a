package dev.prospector.attest;

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
 * released; {@code advance} replaces the state file atomically (temp file, fsync, rename, fsync
 * directory). After kill -9 at any point the file holds the state before or after that report. If
 * the report was stored but the state not yet advanced, {@link #recover} moves the state past it at
 * the next start (from the store's last seq and hash); if it was not stored, its seq is simply made
 * again. Either way a seq is never used for two different released reports and the chain never
 * forks.
 *
 * <p>When the file is missing or unreadable (a new SD card, a corrupted file), a new chain starts:
 * new random chain id, seq 1, no prev, and a {@code restart} claim saying why
 * ({@link #RESTART_NO_STATE} or {@link #RESTART_CORRUPT_STATE}).
 *
 * <p>File {@code chain.state}: CBOR map {@code {"chain": bstr(16), "seq": uint, "prev": bstr(32)}}
 * ({@code prev} absent before the first report).
 */
public final class ChainState {
    public static final String FILE = "chain.state";
    /** Restart reason: no state file existed. */
    public static final String RESTART_NO_STATE = "no-state";
    /** Restart reason: the state file could not be read. */
    public static final String RESTART_CORRUPT_STATE = "corrupt-state";

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Optional<Path> file;
    private byte[] chain;
    private long seq;
    private Optional<byte[]> prev;
    private Optional<String> restart;

    private ChainState(Optional<Path> file, byte[] chain, long seq, Optional<byte[]> prev, Optional<String> restart) {
        this.file = file;
        this.chain = chain;
        this.seq = seq;
        this.prev = prev;
        this.restart = restart;
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
                    ? Optional.of(Claims.bytes(m, "prev", Claims.HASH_BYTES, Claims.HASH_BYTES)) : Optional.empty();
            if ((seq == 0) != prev.isEmpty()) {
                throw new MalformedReportException("seq and prev disagree");
            }
            return new ChainState(Optional.of(f), chain, seq, prev, seq == 0 ? Optional.of(RESTART_NO_STATE) : Optional.empty());
        } catch (NoSuchFileException e) {
            Logger.info("No chain state at {}: starting a new report chain", f);
            return fresh(Optional.of(f), RESTART_NO_STATE);
        } catch (IOException | MalformedReportException e) {
            Logger.warn("Chain state {} is unreadable ({}): starting a new report chain; the verifier will record a restart", f, e.getMessage());
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
        return new ChainState(file, chain, 0, Optional.empty(), Optional.of(reason));
    }

    /** What the next report must carry. */
    public record Next(byte[] chain, long seq, Optional<byte[]> prev, Optional<String> restart) {}

    synchronized Next next() {
        return new Next(chain.clone(), seq + 1, prev.map(byte[]::clone), prev.isEmpty() ? restart : Optional.empty());
    }

    /** Records that report {@code newSeq} with SHA-256 {@code reportHash} was made; durable on return. */
    synchronized void advance(long newSeq, byte[] reportHash) {
        if (newSeq != seq + 1) {
            throw new IllegalStateException("chain state expected seq " + (seq + 1) + ", not " + newSeq);
        }
        if (file.isPresent()) {
            var m = Cbor.map().put("chain", new Cbor.Bytes(chain)).put("seq", new Cbor.Int(newSeq))
                    .put("prev", new Cbor.Bytes(reportHash)).build();
            try {
                AtomicFiles.write(file.get(), Cbor.encode(m), AtomicFiles.OWNER_ONLY);
            } catch (IOException e) {
                throw new IllegalStateException("cannot persist chain state to " + file.get() + " (" + e.getMessage()
                        + "); the report was not released; check free space and permissions of " + file.get().getParent(), e);
            }
        }
        seq = newSeq;
        prev = Optional.of(reportHash.clone());
    }

    /**
     * Moves the chain past a report that the device stored durably but whose chain position was
     * not persisted (the process died in between; see {@link ReportSigner#sign(ReportInput,
     * java.util.function.Consumer)}). A no-op when the state is already there.
     *
     * @param storedSeq  the highest seq in the device's own store
     * @param reportHash SHA-256 of that report's bytes
     * <p>A store more than one report ahead belongs to an earlier chain (the state file was lost
     * or unreadable and a new chain started): that is logged and the new chain kept.
     */
    public synchronized void recover(long storedSeq, byte[] reportHash) {
        if (storedSeq <= seq) {
            return;
        }
        if (storedSeq != seq + 1) {
            Logger.warn("the outbox's last report is seq {} but the chain state {} is at seq {}: they belong to different chains; keeping the chain state",
                    storedSeq, file.map(Path::toString).orElse("(in memory)"), seq);
            return;
        }
        Logger.warn("recovering chain position: report {} was stored but its chain position was not persisted (a crash)", storedSeq);
        advance(storedSeq, reportHash);
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
