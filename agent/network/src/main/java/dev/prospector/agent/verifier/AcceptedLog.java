package dev.prospector.agent.verifier;

import dev.prospector.agent.common.StorageFailure;
import dev.prospector.attest.Appraiser.AcceptedEntry;
import dev.prospector.attest.AtomicFiles;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.Limits;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * <h2>Damage</h2>
 * An acceptance is never forgotten silently. At start every record is checked (length, CRC-32C,
 * decoding):
 * <ul>
 *   <li>A bad record with no valid record after it is a torn write (power cut mid-append): its
 *       report was never acknowledged, so the tail is cut and the broker's re-delivery decides.
 *   <li>A bad record <em>followed by</em> a valid one (or a file that does not start with the
 *       magic) is damage: records in the middle are gone, and starting without them would accept
 *       their replays. The file is moved aside ({@code accepted.log.corrupt-<ms>}) and {@link #open}
 *       throws {@link DamagedException} naming it and the repair command; while such a file is
 *       there unrepaired, every start refuses the same way.
 *   <li>{@link #repair} (the command {@code prospector verifier repair}) salvages every record
 *       that still checks out, resynchronising after damage by scanning for the next offset where a
 *       record's length, CRC-32C and contents are valid, writes a new log from them, renames the
 *       damaged copies {@code ….salvaged} and reports what it kept and what it dropped.
 * </ul>
 * An append that fails half-way (a full disk) is cut back at once, so a later append never lands
 * behind a partial record; if even that fails, the log refuses further appends (reports stay
 * unacknowledged) until the verifier is restarted.
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
 * rename) at start and whenever it has grown by {@link #COMPACT_AFTER_BYTES}; a log found damaged
 * while running is left as it is (the next start deals with it).
 *
 * <h2>Late copies</h2>
 * {@link #holds} tells whether the log holds an acceptance of exactly these bytes (device, chain,
 * seq, report hash) among each device's last {@link #LOOKBACK} accepted seqs, further back than
 * the appraiser's own window: a copy of an accepted report that comes back more than
 * {@link Limits#DUPLICATE_WINDOW} seqs late (its receipt was lost) is then answered as a duplicate
 * instead of refused as a replay. Memory: per device an index of {@link #LOOKBACK} record offsets
 * ({@code int}s, about 0.3 KiB), not the entries; a lookup reads one record from the file. Only
 * what the file still holds is found: compaction keeps the last {@link Limits#DUPLICATE_WINDOW}
 * per device, so right after one (at start, and after every {@link #COMPACT_AFTER_BYTES} of
 * growth) nothing older than the appraiser's window is found.
 *
 * <h2>Format</h2>
 * Magic {@code PXACCPT1}; records {@code u32 length | u32 crc32c(body) | body}, body = {@code u8
 * device length | device (ASCII) | key (32) | chain (16) | u64 seq | u8 has prev | prev (32, if
 * any) | u64 iat ms | hash (32)}.
 */
public final class AcceptedLog implements AutoCloseable {
    private static final byte[] MAGIC = {'P', 'X', 'A', 'C', 'C', 'P', 'T', '1'};
    /** How often appended entries are synced (and their acknowledgements released). */
    static final long FLUSH_INTERVAL_MS = 20;
    /** Growth after which the file is compacted while running. */
    static final long COMPACT_AFTER_BYTES = 64L << 20;

    private static final int MAX_BODY = 1024;
    /** Accepted seqs per device whose records {@link #holds} finds (the offsets kept in memory). */
    static final int LOOKBACK = 2 * Limits.DUPLICATE_WINDOW;
    /** Infix of a damaged log moved aside: {@code accepted.log.corrupt-<epoch ms>}. */
    static final String CORRUPT = ".corrupt-";
    /** Suffix a repaired damaged copy gets, so that it no longer blocks a start. */
    static final String SALVAGED = ".salvaged";

    /**
     * The log is damaged in its middle (or an earlier start found it so and it is not repaired
     * yet): the verifier must not start on it. The message names the file and the repair command.
     */
    public static final class DamagedException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final transient Path aside;

        DamagedException(String message, Path aside) {
            super(message);
            this.aside = aside;
        }

        /** Where the damaged log is now. */
        public Path aside() {
            return aside;
        }
    }

    /** Bytes of a file that held no valid record: {@code [offset, offset + length)}. */
    public record Region(long offset, long length) {
        @Override
        public String toString() {
            return length + " byte(s) at offset " + offset;
        }
    }

    /** What one file held: its valid records in order, damage between them, a torn tail. */
    record Scan(List<AcceptedEntry> entries, List<Region> damaged, long tornTail) {}

    private final Path file;
    private FileChannel channel; // guarded by this
    private final List<CompletableFuture<Void>> waiting = new ArrayList<>(); // guarded by this
    private long grownSinceCompaction; // guarded by this
    private IOException broken; // guarded by this: set when a failed append could not be cut back
    private final ScheduledExecutorService flusher;
    /**
     * Per device: 1 + the file offset of the record of each of its last accepted seqs, in slot
     * {@code seq mod LOOKBACK}; 0 for none. Guarded by this; rebuilt whenever the file is rewritten.
     */
    private final Map<DeviceId, int[]> offsets = new HashMap<>();

    private AcceptedLog(Path file, FileChannel channel, List<AcceptedEntry> kept) {
        this.file = file;
        this.channel = channel;
        index(kept);
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
     *
     * @throws DamagedException when the log is damaged in its middle (it is moved aside) or an
     *     earlier damaged copy is still unrepaired
     */
    public static AcceptedLog open(Path file, Consumer<AcceptedEntry> replay) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            List<Path> unrepaired = damagedCopies(file);
            if (!unrepaired.isEmpty()) {
                Path aside = unrepaired.get(unrepaired.size() - 1);
                throw new DamagedException(
                        "the verifier's accepted log was found damaged and moved to " + aside
                                + ", which is not repaired yet; starting without it would accept replays of what it records;"
                                + " run: " + repairCommand(file),
                        aside);
            }
            Scan scan = scan(Files.exists(file) ? Files.readAllBytes(file) : new byte[0]);
            if (!scan.damaged().isEmpty()) {
                Path aside = file.resolveSibling(file.getFileName() + CORRUPT + System.currentTimeMillis());
                Files.move(file, aside); // a rename to a new name, not a replace: no AtomicFiles
                throw new DamagedException(
                        "the verifier's accepted log " + file + " is damaged (" + describe(scan.damaged())
                                + ", with valid records after it); moved it to " + aside
                                + " and refusing to start, so that no"
                                + " acceptance is forgotten; run: " + repairCommand(file),
                        aside);
            }
            if (scan.tornTail() > 0) {
                Logger.warn(
                        "accepted log {}: cut a torn tail of {} bytes (a write the power cut short; its report was"
                                + " never acknowledged)",
                        file,
                        scan.tornTail());
            }
            List<AcceptedEntry> kept = retain(scan.entries());
            kept.forEach(replay);
            writeCompacted(file, kept);
            FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
            Logger.info("accepted log {}: {} entries restored", file, kept.size());
            return new AcceptedLog(file, channel, kept);
        } catch (IOException e) {
            throw new StorageFailure("cannot open the verifier's accepted log " + file + ": " + e.getMessage(), e);
        }
    }

    /** The command that repairs the log {@code file} (in its state dir). */
    static String repairCommand(Path file) {
        Path dir = file.toAbsolutePath().getParent();
        return "prospector verifier repair --state-dir " + dir;
    }

    private static String describe(List<Region> damaged) {
        long bytes = damaged.stream().mapToLong(Region::length).sum();
        return bytes + " bad byte(s) in " + damaged.size() + " place(s), the first at offset "
                + damaged.get(0).offset();
    }

    /** Damaged copies of {@code file} moved aside and not repaired yet, oldest first. */
    static List<Path> damagedCopies(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        String prefix = file.getFileName() + CORRUPT;
        List<Path> out = new ArrayList<>();
        try (var list = Files.list(dir)) {
            list.filter(p -> {
                        String name = p.getFileName().toString();
                        return name.startsWith(prefix)
                                && name.substring(prefix.length()).matches("\\d{1,19}");
                    })
                    .forEach(out::add);
        }
        out.sort(java.util.Comparator.comparingLong(
                p -> Long.parseLong(p.getFileName().toString().substring(prefix.length()))));
        return out;
    }

    /** What {@link #repair} did to one file. */
    public record Salvage(Path file, int records, List<Region> dropped, long tornTail) {}

    /**
     * What {@link #repair} did: per damaged copy (and the log itself, if it was there), the records
     * kept and the bytes dropped; and the new log.
     *
     * @param averageRecordBytes the kept records' mean size, to estimate how many records the
     *     dropped bytes held
     */
    public record RepairReport(Path file, List<Salvage> sources, int kept, int devices, double averageRecordBytes) {
        /** Bytes dropped as damaged (torn tails not included). */
        public long droppedBytes() {
            return sources.stream()
                    .flatMap(s -> s.dropped().stream())
                    .mapToLong(Region::length)
                    .sum();
        }
    }

    /**
     * Salvages every record that still checks out from the damaged copies of {@code file} (oldest
     * first) and from {@code file} itself, writes them as the new log (atomically), and renames
     * the damaged copies {@code ….salvaged}. The caller must hold the state dir's lock.
     */
    public static RepairReport repair(Path file) throws IOException {
        List<Path> sources = new ArrayList<>(damagedCopies(file));
        if (Files.exists(file)) {
            sources.add(file);
        }
        List<AcceptedEntry> all = new ArrayList<>();
        List<Salvage> salvages = new ArrayList<>();
        long keptBytes = 0;
        for (Path source : sources) {
            Scan scan = scan(Files.readAllBytes(source));
            if (source.equals(file) && (!scan.damaged().isEmpty() || scan.tornTail() > 0)) {
                // Repaired in place (no start found it first): keep the damaged bytes beside it too.
                Files.copy(
                        file,
                        file.resolveSibling(file.getFileName() + CORRUPT + System.currentTimeMillis() + SALVAGED));
            }
            salvages.add(new Salvage(source, scan.entries().size(), scan.damaged(), scan.tornTail()));
            all.addAll(scan.entries());
            for (AcceptedEntry e : scan.entries()) {
                keptBytes += encode(e).remaining();
            }
        }
        if (sources.isEmpty()) {
            return new RepairReport(file, List.of(), 0, 0, 0);
        }
        writeCompacted(file, all);
        for (Path source : sources) {
            if (!source.equals(file)) {
                // A rename to a new name, not a replace: no AtomicFiles.
                Files.move(source, source.resolveSibling(source.getFileName() + SALVAGED));
            }
        }
        int devices = (int) all.stream().map(AcceptedEntry::device).distinct().count();
        Logger.info("accepted log {} repaired: {} record(s) of {} device(s) kept", file, all.size(), devices);
        return new RepairReport(
                file, salvages, all.size(), devices, all.isEmpty() ? 0 : (double) keptBytes / all.size());
    }

    /** Records an acceptance; the future completes once it is on disk. */
    public synchronized CompletableFuture<Void> append(AcceptedEntry e) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        if (broken != null) {
            done.completeExceptionally(broken);
            return done;
        }
        long end = -1;
        try {
            end = channel.size();
            ByteBuffer record = encode(e);
            while (record.hasRemaining()) {
                channel.write(record);
            }
            grownSinceCompaction += channel.size() - end;
            remember(e, end);
            waiting.add(done);
        } catch (IOException ex) {
            cutBack(end, ex);
            done.completeExceptionally(ex);
        }
        return done;
    }

    /** After a failed append: removes its partial record, or refuses further appends. */
    private void cutBack(long end, IOException cause) {
        try {
            if (end < 0) {
                throw cause;
            }
            channel.truncate(end);
        } catch (IOException e) {
            broken = cause;
            Logger.error(
                    "accepted log {}: an append failed ({}) and could not be undone ({}); accepting nothing more"
                            + " until the verifier is restarted",
                    file,
                    cause.getMessage(),
                    e.getMessage());
        }
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
        grownSinceCompaction = 0;
        try {
            Scan scan = scan(Files.readAllBytes(file));
            if (!scan.damaged().isEmpty() || scan.tornTail() > 0) {
                // Not ours to fix while running: the next start refuses it, and repair salvages it.
                Logger.error(
                        "accepted log {} is damaged on disk ({}); not compacting it. The verifier keeps what it"
                                + " holds in memory; after it stops, run: {}",
                        file,
                        scan.damaged().isEmpty()
                                ? "a bad tail of " + scan.tornTail() + " bytes"
                                : describe(scan.damaged()),
                        repairCommand(file));
                return;
            }
            channel.close();
            List<AcceptedEntry> kept = retain(scan.entries());
            writeCompacted(file, kept);
            channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
            index(kept);
        } catch (IOException e) {
            Logger.error("accepted log {}: compaction failed ({}); it goes on growing", file, e.getMessage());
            if (!channel.isOpen()) {
                try {
                    channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
                } catch (IOException again) {
                    broken = again;
                    Logger.error(
                            "accepted log {}: cannot reopen it ({}); accepting nothing more until the verifier is"
                                    + " restarted",
                            file,
                            again.getMessage());
                }
            }
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

    /**
     * Whether this log holds the acceptance of {@code device}'s report {@code seq} of {@code chain}
     * whose bytes hash to {@code hash}, among the device's last {@link #LOOKBACK} accepted seqs
     * still in the file (see "Late copies" above). Reads one record; false when it cannot be read.
     */
    public synchronized boolean holds(DeviceId device, byte[] chain, long seq, byte[] hash) {
        int[] slots = offsets.get(device);
        int at = slots == null ? 0 : slots[slot(seq)];
        if (at == 0) {
            return false;
        }
        long offset = at - 1L;
        try (FileChannel read = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(8 + MAX_BODY);
            // A record is at most 8 + MAX_BODY bytes; fewer are left at the end of the file.
            int n;
            do {
                n = read.read(b, offset + b.position());
            } while (n > 0 && b.hasRemaining());
            AcceptedEntry e = recordAt(Arrays.copyOf(b.array(), b.position()), 0);
            return e != null
                    && e.device().equals(device)
                    && e.seq() == seq
                    && Arrays.equals(e.chain(), chain)
                    && Arrays.equals(e.hash(), hash);
        } catch (IOException ex) {
            Logger.warn(
                    "accepted log {}: cannot read a record back ({}); a late copy counts as a replay",
                    file,
                    ex.getMessage());
            return false;
        }
    }

    private static int slot(long seq) {
        return (int) Math.floorMod(seq, (long) LOOKBACK);
    }

    /** Notes the record of {@code e}, written at {@code offset}, in the device's index. */
    private void remember(AcceptedEntry e, long offset) {
        int[] slots = offsets.computeIfAbsent(e.device(), d -> new int[LOOKBACK]);
        // Past 2 GiB (never between compactions at the sizes above) a record is not indexed: not found.
        slots[slot(e.seq())] = offset < Integer.MAX_VALUE ? (int) offset + 1 : 0;
    }

    /** Indexes {@code kept}, the records of a file just written by {@link #writeCompacted}, in order. */
    private void index(List<AcceptedEntry> kept) {
        synchronized (this) {
            offsets.clear();
            long offset = MAGIC.length;
            for (AcceptedEntry e : kept) {
                remember(e, offset);
                offset += encode(e).remaining();
            }
        }
    }

    /** Per device: the last DUPLICATE_WINDOW entries of its current chain, the last entry of recent closed chains. */
    static List<AcceptedEntry> retain(List<AcceptedEntry> entries) {
        Map<DeviceId, LinkedHashMap<String, Long>> chainsByDevice =
                new HashMap<>(); // chain -> highest seq, in order of last use
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

    /**
     * Reads every record of a log's bytes. After a bad record, resynchronises at the next offset
     * where a whole valid record starts; bad bytes with no valid record after them are the torn
     * tail, bad bytes before one are damage. A file that does not start with the magic is damaged
     * from its first byte.
     */
    static Scan scan(byte[] all) {
        List<AcceptedEntry> entries = new ArrayList<>();
        List<Region> damaged = new ArrayList<>();
        if (all.length == 0) {
            return new Scan(entries, damaged, 0);
        }
        boolean magic = all.length >= MAGIC.length && Arrays.equals(all, 0, MAGIC.length, MAGIC, 0, MAGIC.length);
        int pos = magic ? MAGIC.length : 0;
        int badFrom = magic ? -1 : 0;
        while (pos < all.length) {
            AcceptedEntry e = recordAt(all, pos);
            if (e == null) {
                if (badFrom < 0) {
                    badFrom = pos;
                }
                pos++;
                continue;
            }
            if (badFrom >= 0) {
                damaged.add(new Region(badFrom, pos - badFrom));
                badFrom = -1;
            }
            entries.add(e);
            pos += 8 + ByteBuffer.wrap(all, pos, 4).getInt();
        }
        long torn = badFrom < 0 ? 0 : all.length - badFrom;
        if (!magic && entries.isEmpty()) {
            // Nothing of an accepted log in it at all: damage, not a torn tail.
            return new Scan(entries, List.of(new Region(0, all.length)), 0);
        }
        return new Scan(entries, damaged, torn);
    }

    /** The valid record at {@code pos}, or null: length in range, CRC-32C matching, contents decoding exactly. */
    private static AcceptedEntry recordAt(byte[] all, int pos) {
        if (all.length - pos < 8) {
            return null;
        }
        ByteBuffer head = ByteBuffer.wrap(all, pos, 8);
        int length = head.getInt();
        int crc = head.getInt();
        if (length < 1 || length > MAX_BODY || length > all.length - pos - 8) {
            return null;
        }
        CRC32C c = new CRC32C();
        c.update(all, pos + 8, length);
        if ((int) c.getValue() != crc) {
            return null;
        }
        try {
            ByteBuffer body = ByteBuffer.wrap(all, pos + 8, length).slice();
            AcceptedEntry e = decode(body);
            return body.hasRemaining() ? null : e;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * Replaces {@code file} with {@code kept} atomically ({@link AtomicFiles}: temp file, sync,
     * rename, sync directory), readable by the service's user only, as the service's
     * {@code UMask=0077} makes every file in its state dir.
     */
    private static void writeCompacted(Path file, List<AcceptedEntry> kept) throws IOException {
        AtomicFiles.write(file, AtomicFiles.OWNER_ONLY, out -> {
            out.write(ByteBuffer.wrap(MAGIC));
            for (AcceptedEntry e : kept) {
                ByteBuffer b = encode(e);
                while (b.hasRemaining()) {
                    out.write(b);
                }
            }
        });
    }

    static ByteBuffer encode(AcceptedEntry e) {
        byte[] device = e.device().value().getBytes(StandardCharsets.US_ASCII);
        int length = 1 + device.length + 32 + 16 + 8 + 1 + (e.prev().isPresent() ? 32 : 0) + 8 + 32;
        ByteBuffer b = ByteBuffer.allocate(8 + length);
        b.putInt(length)
                .putInt(0)
                .put((byte) device.length)
                .put(device)
                .put(e.key())
                .put(e.chain())
                .putLong(e.seq());
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
        return new AcceptedEntry(
                new DeviceId(new String(device, StandardCharsets.US_ASCII)), key, chain, seq, prev, iat, hash);
    }
}
