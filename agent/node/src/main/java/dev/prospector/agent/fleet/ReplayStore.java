package dev.prospector.agent.fleet;

import dev.prospector.attest.AtomicFiles;
import dev.prospector.attest.Sha256;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.zip.CRC32;
import org.tinylog.Logger;

/**
 * The nonces of the commands a board has run, so that none runs twice: kept in the file
 * {@code fleet/nonces} of the data dir and rewritten atomically (and synced) before a command runs,
 * so a command is never run without its nonce on disk (a crash after that loses the command, never
 * lets it run again).
 *
 * <h2>Bounded</h2>
 * An entry is 16 bytes of SHA-256 over (signer key id, nonce) and the command's expiry; it is
 * dropped once the command has expired (plus the clock-skew allowance): an expired command is
 * refused for its expiry anyway. Commands are valid for at most a day, so the store holds what
 * arrived in the last day, at most {@link #MAX_ENTRIES}; when full of unexpired nonces it refuses
 * new commands (fail safe) rather than forget one.
 *
 * <h2>Corruption fails safe</h2>
 * The file is {@code "PRCN", version, floor (ms), count, entries, CRC-32}. A file that does not
 * read back exactly (torn, truncated, flipped bits) cannot say which commands ran, so the store
 * starts empty with a <em>floor</em>: every command issued before the floor is refused as possibly
 * replayed. Any command run before the damage was received before now and was issued at most the
 * skew allowance after its receipt, so the floor is now plus the skew allowance. An operator sends
 * the command again (newly signed) after that. The floor is persisted with the new store.
 *
 * <p>Not thread-safe on its own: the {@link CommandService} calls it from its one command thread;
 * the methods are synchronized for the tests that look inside.
 */
public final class ReplayStore {
    public static final String FILE = "nonces";
    public static final int MAX_ENTRIES = 4096;
    private static final int MAGIC = 0x5052434e; // "PRCN"
    private static final int VERSION = 1;
    private static final int ENTRY = 16 + 8;
    private static final int HEADER = 4 + 1 + 8 + 4;

    private final Path file;
    private final Duration skew;
    private final Map<ByteBuffer, Long> expiries = new HashMap<>();
    private long floorMillis;
    private boolean recovered;

    private ReplayStore(Path file, Duration skew) {
        this.file = file;
        this.skew = skew;
    }

    /** Opens (or creates) the store in {@code dir}; a damaged file gives an empty store with a floor. */
    public static ReplayStore open(Path dir, Duration skew, Instant now) {
        var store = new ReplayStore(dir.resolve(FILE), skew);
        store.load(now);
        return store;
    }

    private void load(Instant now) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return;
        } catch (IOException e) {
            damaged(now, "cannot read it (" + e.getMessage() + ")");
            return;
        }
        String problem = parse(bytes);
        if (problem != null) {
            expiries.clear();
            damaged(now, problem);
        }
    }

    private String parse(byte[] bytes) {
        if (bytes.length < HEADER + 4) {
            return "it is " + bytes.length + " bytes, shorter than its header";
        }
        var crc = new CRC32();
        crc.update(bytes, 0, bytes.length - 4);
        var b = ByteBuffer.wrap(bytes);
        if (b.getInt(bytes.length - 4) != (int) crc.getValue()) {
            return "its checksum does not match";
        }
        if (b.getInt() != MAGIC || b.get() != VERSION) {
            return "it is not a version " + VERSION + " nonce store";
        }
        long floor = b.getLong();
        int count = b.getInt();
        if (count < 0 || count > MAX_ENTRIES || bytes.length != HEADER + count * ENTRY + 4) {
            return "its entry count " + count + " does not match its length";
        }
        for (int i = 0; i < count; i++) {
            byte[] key = new byte[16];
            b.get(key);
            expiries.put(ByteBuffer.wrap(key), b.getLong());
        }
        floorMillis = floor;
        return null;
    }

    private void damaged(Instant now, String why) {
        floorMillis = now.plus(skew).toEpochMilli();
        recovered = true;
        Logger.warn(
                "command nonce store {} is damaged ({}): starting empty; commands issued before {} are refused as possibly replayed",
                file,
                why,
                Instant.ofEpochMilli(floorMillis));
        try {
            save();
        } catch (IOException e) {
            Logger.warn("cannot rewrite {}: {}; the floor holds for this run", file, e.getMessage());
        }
    }

    /** True if the last open found the file damaged. */
    public synchronized boolean recoveredFromDamage() {
        return recovered;
    }

    /** Commands issued before this are refused (a damaged store's floor; the epoch otherwise). */
    public synchronized Instant floor() {
        return Instant.ofEpochMilli(floorMillis);
    }

    public synchronized int size() {
        return expiries.size();
    }

    /**
     * Records the nonce of a command about to run, durably; or says why it must not run: already
     * used, issued before the floor, the store full or not writable.
     *
     * @return null when recorded; else the refusal reason
     */
    public synchronized String record(byte[] keyId, byte[] nonce, Instant issuedAt, Instant expiry, Instant now) {
        if (issuedAt.toEpochMilli() < floorMillis) {
            return "issued at " + issuedAt + ", before " + Instant.ofEpochMilli(floorMillis)
                    + " (the board's nonce store was damaged and cannot tell whether it ran); sign it again";
        }
        var key = ByteBuffer.wrap(Arrays.copyOf(Sha256.ofParts(keyId, nonce), 16));
        if (expiries.containsKey(key)) {
            return "nonce already used: this command (or one with its nonce) ran before";
        }
        long cutoff = now.minus(skew).toEpochMilli();
        for (Iterator<Long> it = expiries.values().iterator(); it.hasNext(); ) {
            if (it.next() < cutoff) {
                it.remove();
            }
        }
        if (expiries.size() >= MAX_ENTRIES) {
            return "the board's nonce store is full (" + MAX_ENTRIES
                    + " unexpired commands); send commands with shorter expiry, or wait";
        }
        expiries.put(key, expiry.toEpochMilli());
        try {
            save();
        } catch (IOException e) {
            expiries.remove(key);
            return "cannot record the nonce in " + file + " (" + e.getMessage() + "); not run";
        }
        return null;
    }

    private void save() throws IOException {
        var b = ByteBuffer.allocate(HEADER + expiries.size() * ENTRY + 4);
        b.putInt(MAGIC).put((byte) VERSION).putLong(floorMillis).putInt(expiries.size());
        for (var e : expiries.entrySet()) {
            b.put(e.getKey().duplicate()).putLong(e.getValue());
        }
        var crc = new CRC32();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        AtomicFiles.write(file, b.array(), AtomicFiles.OWNER_ONLY);
    }
}
