package dev.prospector.agent.verifier;

import dev.prospector.attest.Appraiser.AcceptedEntry;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.Limits;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.zip.CRC32C;
import org.tinylog.Logger;

/**
 * The verifier's memory of what it accepted, so that acceptance stays idempotent by (device, seq)
 * and replays stay refused across restarts.
 *
 * <h2>What always holds</h2>
 * A report the verifier accepted is acknowledged to the broker only after its entry is on disk
 * ({@link #append} completes after an {@code fdatasync}). So after a crash, either the entry is
 * here and the re-delivered report is a duplicate, or the report was never acknowledged and the
 * broker delivers it again to be accepted once. At start, entries are replayed in order into the
 * {@code Appraiser} ({@code Appraiser.restore}), which then knows every device's chain as before.
 *
 * <h2>Cost</h2>
 * Group commit: appends are written at once and one {@code fdatasync} every {@link #FLUSH_INTERVAL_MS}
 * covers all of them, so a busy verifier pays one sync per interval, not one per report; an
 * acknowledgement waits at most one interval.
 *
 * <h2>Size</h2>
 * Only what the chain check can use is kept: per device, the last {@link Limits#DUPLICATE_WINDOW}
 * entries of its current chain and the last entry of each of its previous
 * {@link Limits#CLOSED_CHAINS_KEPT} chains. Compaction rewrites the file to that (temp file, sync,
 * rename) at start and whenever it has grown by {@link #COMPACT_AFTER_BYTES}.
 *
 * <h2>Format</h2>
 * Magic {@code PXACCPT1}; records {@code u32 length | u32 crc32c(body) | body}, body = {@code u8
 * device length | device (ASCII) | key (32) | chain (16) | u64 seq | u8 has prev | prev (32, if
 * any) | u64 iat ms | hash (32)}. A torn or corrupt tail is cut at start.
 */
public final class AcceptedLog implements AutoCloseable {
    private static final byte[] MAGIC = {'P', 'X', 'A', 'C', 'C', 'P', 'T', '1'};
    /** How often appended entries are synced (and their acknowledgements released). */
    static final long FLUSH_INTERVAL_MS = 20;
    /** Growth after which the file is compacted while running. */
    static final long COMPACT_AFTER_BYTES = 64L << 20;
    private static final int MAX_BODY = 1024;

    private final Path file;
    private FileChannel channel; // guarded by this
    private final List<CompletableFuture<Void>> waiting = new ArrayList<>(); // guarded by this
    private long grownSinceCompaction; // guarded by this
    private final ScheduledExecutorService flusher;

    private AcceptedLog(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
        this.flusher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "accepted-log-sync");
            t.setDaemon(true);
            return t;
        });
        flusher.scheduleWithFixedDelay(this::flush, FLUSH_INTERVAL_MS, FLUSH_INTERVAL_MS, TimeUnit.MILLISECONDS);
    }

    /**
     * Opens (creating if needed) the log, gives every kept entry to {@code replay} in order, and
     * compacts it.
     */
    public static AcceptedLog open(Path file, Consumer<AcceptedEntry> replay) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            List<AcceptedEntry> entries = read(file);
            List<AcceptedEntry> kept = retain(entries);
            kept.forEach(replay);
            writeCompacted(file, kept);
            FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
            Logger.info("accepted log {}: {} entries restored", file, kept.size());
            return new AcceptedLog(file, channel);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the verifier's accepted log " + file + ": " + e.getMessage(), e);
        }
    }

    /** Records an acceptance; the future completes once it is on disk. */
    public synchronized CompletableFuture<Void> append(AcceptedEntry e) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            ByteBuffer record = encode(e);
            grownSinceCompaction += record.remaining();
            while (record.hasRemaining()) {
                channel.write(record);
            }
            waiting.add(done);
        } catch (IOException ex) {
            done.completeExceptionally(ex);
        }
        return done;
    }

    void flush() {
        List<CompletableFuture<Void>> released;
        synchronized (this) {
            if (waiting.isEmpty()) {
                return;
            }
            released = new ArrayList<>(waiting);
            waiting.clear();
            try {
                channel.force(false);
            } catch (IOException e) {
                Logger.error("accepted log {}: sync failed: {}; the reports stay unacknowledged", file, e.getMessage());
                released.forEach(f -> f.completeExceptionally(e));
                return;
            }
            if (grownSinceCompaction > COMPACT_AFTER_BYTES) {
                compactNow();
            }
        }
        released.forEach(f -> f.complete(null));
    }

    private void compactNow() {
        try {
            channel.close();
            writeCompacted(file, retain(read(file)));
            channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
            grownSinceCompaction = 0;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot compact the accepted log " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        flusher.shutdown();
        try {
            flusher.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        flush();
        synchronized (this) {
            try {
                channel.close();
            } catch (IOException e) {
                Logger.warn("closing the accepted log: {}", e.getMessage());
            }
        }
    }

    /** Per device: the last DUPLICATE_WINDOW entries of its current chain, the last entry of recent closed chains. */
    static List<AcceptedEntry> retain(List<AcceptedEntry> entries) {
        Map<DeviceId, LinkedHashMap<String, Long>> chainsByDevice = new HashMap<>(); // chain -> highest seq, in order of last use
        for (AcceptedEntry e : entries) {
            var chains = chainsByDevice.computeIfAbsent(e.device(), d -> new LinkedHashMap<>());
            String chain = Arrays.toString(e.chain());
            Long max = chains.remove(chain);
            chains.put(chain, Math.max(max == null ? Long.MIN_VALUE : max, e.seq()));
        }
        List<AcceptedEntry> kept = new ArrayList<>();
        Map<DeviceId, Map<String, Boolean>> lastOfClosedKept = new HashMap<>();
        for (int i = entries.size() - 1; i >= 0; i--) {
            AcceptedEntry e = entries.get(i);
            var chains = new ArrayList<>(chainsByDevice.get(e.device()).keySet());
            String chain = Arrays.toString(e.chain());
            int position = chains.indexOf(chain);
            boolean current = position == chains.size() - 1;
            if (current) {
                long max = chainsByDevice.get(e.device()).get(chain);
                if (e.seq() > max - Limits.DUPLICATE_WINDOW) {
                    kept.add(e);
                }
            } else if (position >= chains.size() - 1 - Limits.CLOSED_CHAINS_KEPT) {
                var seen = lastOfClosedKept.computeIfAbsent(e.device(), d -> new HashMap<>());
                if (seen.putIfAbsent(chain, true) == null) {
                    kept.add(e);
                }
            }
        }
        java.util.Collections.reverse(kept);
        return kept;
    }

    private static List<AcceptedEntry> read(Path file) throws IOException {
        List<AcceptedEntry> out = new ArrayList<>();
        if (!Files.exists(file) || Files.size(file) == 0) {
            return out;
        }
        byte[] all = Files.readAllBytes(file);
        if (all.length < MAGIC.length || !Arrays.equals(Arrays.copyOf(all, MAGIC.length), MAGIC)) {
            Path aside = file.resolveSibling(file.getFileName() + ".unreadable-" + System.currentTimeMillis());
            Files.move(file, aside);
            Logger.error("{} is not an accepted log; moved it to {} and started a new one", file, aside);
            return out;
        }
        ByteBuffer in = ByteBuffer.wrap(all);
        in.position(MAGIC.length);
        while (in.remaining() >= 8) {
            int start = in.position();
            int length = in.getInt();
            int crc = in.getInt();
            if (length < 1 || length > MAX_BODY || length > in.remaining()) {
                in.position(start);
                break;
            }
            CRC32C c = new CRC32C();
            c.update(all, in.position(), length);
            if ((int) c.getValue() != crc) {
                in.position(start);
                break;
            }
            ByteBuffer body = ByteBuffer.wrap(all, in.position(), length).slice();
            in.position(in.position() + length);
            try {
                out.add(decode(body));
            } catch (RuntimeException e) {
                in.position(start);
                break;
            }
        }
        if (in.hasRemaining()) {
            Logger.warn("accepted log {}: cut a torn or corrupt tail of {} bytes", file, in.remaining());
        }
        return out;
    }

    private static void writeCompacted(Path file, List<AcceptedEntry> kept) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".compact");
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            out.write(ByteBuffer.wrap(MAGIC));
            for (AcceptedEntry e : kept) {
                ByteBuffer b = encode(e);
                while (b.hasRemaining()) {
                    out.write(b);
                }
            }
            out.force(true);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
        try (FileChannel dir = FileChannel.open(file.toAbsolutePath().getParent(), StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException e) {
            Logger.debug("cannot sync directory of {}: {}", file, e.getMessage());
        }
    }

    static ByteBuffer encode(AcceptedEntry e) {
        byte[] device = e.device().value().getBytes(StandardCharsets.US_ASCII);
        int length = 1 + device.length + 32 + 16 + 8 + 1 + (e.prev().isPresent() ? 32 : 0) + 8 + 32;
        ByteBuffer b = ByteBuffer.allocate(8 + length);
        b.putInt(length).putInt(0).put((byte) device.length).put(device).put(e.key()).put(e.chain()).putLong(e.seq());
        b.put((byte) (e.prev().isPresent() ? 1 : 0));
        e.prev().ifPresent(b::put);
        b.putLong(e.iatMillis()).put(e.hash());
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 8, length);
        b.putInt(4, (int) crc.getValue());
        return b.flip();
    }

    private static AcceptedEntry decode(ByteBuffer b) {
        byte[] device = new byte[b.get() & 0xff];
        b.get(device);
        byte[] key = new byte[32];
        b.get(key);
        byte[] chain = new byte[16];
        b.get(chain);
        long seq = b.getLong();
        Optional<byte[]> prev = Optional.empty();
        if (b.get() == 1) {
            byte[] p = new byte[32];
            b.get(p);
            prev = Optional.of(p);
        }
        long iat = b.getLong();
        byte[] hash = new byte[32];
        b.get(hash);
        return new AcceptedEntry(new DeviceId(new String(device, StandardCharsets.US_ASCII)), key, chain, seq, prev, iat, hash);
    }
}
