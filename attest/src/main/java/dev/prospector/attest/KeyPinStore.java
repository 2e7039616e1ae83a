package dev.prospector.attest;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.tinylog.Logger;

/**
 * The verifier's durable memory of which key each device currently signs with, so that a key
 * rotation stays in force across verifier restarts (without it, a restarted verifier would pin
 * whatever key it sees first, and a rotated-away key would be trusted again).
 *
 * <p>File: an append-only text log, one line {@code <device id> <64 hex digits>} per change; the last
 * line of a device wins. It is compacted (rewritten atomically) when opened. A change after a
 * rotation is fsynced before the report that caused it is acknowledged; a first-sight pin is
 * written without fsync (losing it only means pinning the same key again on first sight).
 * Thread-safe.
 */
public final class KeyPinStore {
    private final Path file;
    private final ConcurrentHashMap<DeviceId, byte[]> pins;
    /** An append and the map update after it happen under one lock: a device's last line is its key in the map. */
    @GuardedBy("this")
    private final FileChannel log;

    private KeyPinStore(Path file, ConcurrentHashMap<DeviceId, byte[]> pins, FileChannel log) {
        this.file = file;
        this.pins = pins;
        this.log = log;
    }

    /**
     * Opens (or creates) the pin file, skipping and logging lines that are not a device id and a key.
     *
     * @throws IllegalArgumentException naming the file and the fix when it cannot be read or written
     */
    public static KeyPinStore open(Path file) {
        var pins = new ConcurrentHashMap<DeviceId, byte[]>();
        try {
            if (Files.exists(file)) {
                var lines = Files.readAllLines(file, StandardCharsets.US_ASCII);
                for (int i = 0; i < lines.size(); i++) {
                    String[] parts = lines.get(i).trim().split("\\s+");
                    if (parts.length == 2 && DeviceId.isValid(parts[0]) && parts[1].matches("[0-9a-f]{64}")) {
                        pins.put(new DeviceId(parts[0]), Hex.decode(parts[1]));
                    } else if (!lines.get(i).isBlank()) {
                        Logger.warn(
                                "Key pin file {} line {} is not '<device id> <key hex>'; ignoring it (a torn last write?)",
                                file,
                                i + 1);
                    }
                }
            }
            var sb = new StringBuilder();
            pins.forEach(
                    (d, k) -> sb.append(d).append(' ').append(Hex.encode(k)).append('\n'));
            AtomicFiles.write(file, sb.toString().getBytes(StandardCharsets.US_ASCII), AtomicFiles.OWNER_ONLY);
            return new KeyPinStore(
                    file, pins, FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND));
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "cannot use key pin file " + file + " (" + e.getMessage()
                            + "); check that its directory exists and is writable by the verifier",
                    e);
        }
    }

    /** The key pinned for {@code device}, if any. */
    public Optional<byte[]> get(DeviceId device) {
        byte[] k = pins.get(device);
        return k == null ? Optional.empty() : Optional.of(k.clone());
    }

    /** Every pin (a snapshot). */
    public Map<DeviceId, byte[]> snapshot() {
        return Map.copyOf(pins);
    }

    /**
     * Pins {@code key} for {@code device}, appending it to the file; with {@code durable} the append
     * is fsynced before this returns.
     *
     * @throws StateStorageException if the file cannot be written (the caller must not acknowledge)
     */
    public synchronized void put(DeviceId device, byte[] key, boolean durable) {
        byte[] line = (device + " " + Hex.encode(key) + "\n").getBytes(StandardCharsets.US_ASCII);
        try {
            var buf = ByteBuffer.wrap(line);
            while (buf.hasRemaining()) {
                log.write(buf);
            }
            if (durable) {
                log.force(false);
            }
        } catch (IOException e) {
            throw new StateStorageException("cannot append to key pin file " + file + " (" + e.getMessage() + ")", e);
        }
        pins.put(device, key.clone());
    }

    /** Closes the file; further puts fail. */
    public synchronized void close() {
        try {
            log.close();
        } catch (IOException e) {
            Logger.warn("Closing key pin file {}: {}", file, e.getMessage());
        }
    }
}
