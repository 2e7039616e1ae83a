package dev.prospector.agent.outbox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;
import org.tinylog.Logger;

/**
 * The agent's outbox: an append-only, checksummed journal of reports that the broker has not yet
 * acknowledged.
 *
 * <h2>What always holds</h2>
 * <ul>
 *   <li>A report is on disk (written and {@code fdatasync}ed) before {@link #append} returns, so it
 *       is never published before it is durable: a power cut after the broker's PUBACK but before
 *       we record it only causes a re-send, which the verifier treats as a duplicate.</li>
 *   <li>A report leaves the pending set only by {@link #acknowledge} (the broker has it) or by
 *       {@link #append} dropping the oldest when the journal is full; every drop is counted in
 *       {@link #losses()}, logged, and persisted, so that the next report can declare it.</li>
 *   <li>Recovery never fails on a torn or corrupt tail: records are read in order and the first
 *       one whose length is impossible, whose bytes end early or whose CRC-32C does not match
 *       ends the journal; the file is cut there. Everything before it is intact by construction
 *       (appends never rewrite earlier bytes).</li>
 * </ul>
 *
 * <h2>Format</h2>
 * The file starts with the 8-byte magic {@code PXOUTBX1}. Then records:
 * {@code u32 length | u32 crc32c(body) | body}, body = {@code u8 type | u64 seq | data}, big-endian.
 * Types: {@code 1} report (data: the report's bytes), {@code 2} acknowledged (no data),
 * {@code 3} dropped for lack of room (no data), {@code 4} loss totals written by compaction (seq
 * field: count; data: first and last lost seq), {@code 5} the last appended report, written by
 * compaction (data: its SHA-256), so that the chain state can be reconciled after a crash.
 *
 * <h2>Writes (SD cards wear out)</h2>
 * Per report: the report record once (its size + 17 bytes), with one {@code fdatasync}; the
 * acknowledgement adds 17 bytes and is not synced on its own (losing it costs a duplicate send,
 * never a report). Compaction rewrites only the still-pending reports, and runs only when the file
 * holds at least {@link #COMPACT_MIN_BYTES} and four times more dead bytes than pending ones, so
 * while the broker is reachable it rewrites almost nothing.
 */
public final class OutboxJournal implements AutoCloseable {
    private static final byte[] MAGIC = {'P', 'X', 'O', 'U', 'T', 'B', 'X', '1'};
    private static final byte REPORT = 1;
    private static final byte ACKED = 2;
    private static final byte DROPPED = 3;
    private static final byte LOSSES = 4;
    private static final byte LAST = 5;
    private static final int HEADER = 8;
    private static final int BODY_FIXED = 9;
    /** Largest record accepted at recovery; anything larger is a torn length field. */
    public static final int MAX_RECORD_BYTES = 1 << 20;
    /** Compaction threshold: never compact a file smaller than this. */
    static final long COMPACT_MIN_BYTES = 256 * 1024;

    /** A report waiting for the broker. */
    public record Entry(long seq, byte[] report) {
    }

    /** The report appended last (by file order), even once acknowledged: what the chain state must have reached. */
    public record Appended(long seq, byte[] sha256) {
    }

    /** Reports dropped because the outbox was full, in total since the journal was created. */
    public record Losses(long count, long firstSeq, long lastSeq) {
        static final Losses NONE = new Losses(0, -1, -1);
    }

    private final Path file;
    private final long maxPendingBytes;
    private FileChannel channel;
    private final TreeMap<Long, byte[]> pending = new TreeMap<>();
    private long pendingBytes;
    private long fileBytes;
    private long bytesWritten;
    private Losses losses = Losses.NONE;
    private Appended last;
    private final long recoveredTailBytes;

    private OutboxJournal(Path file, long maxPendingBytes) throws IOException {
        this.file = file;
        this.maxPendingBytes = maxPendingBytes;
        Files.createDirectories(file.toAbsolutePath().getParent());
        this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        this.recoveredTailBytes = recover();
    }

    /**
     * Opens (creating if needed) the journal and recovers its pending reports.
     *
     * @param maxPendingBytes bound on the reports kept; beyond it the oldest are dropped and counted
     */
    public static OutboxJournal open(Path file, long maxPendingBytes) {
        if (maxPendingBytes < 1024) {
            throw new IllegalArgumentException("outbox size must be at least 1 KiB, got " + maxPendingBytes);
        }
        try {
            return new OutboxJournal(file, maxPendingBytes);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open outbox journal " + file + ": " + e.getMessage(), e);
        }
    }

    /** Stores a report durably. Drops (and counts) the oldest pending reports if it would not fit. */
    public synchronized void append(long seq, byte[] report) {
        if (report.length + BODY_FIXED > MAX_RECORD_BYTES) {
            throw new IllegalArgumentException("report of " + report.length + " bytes exceeds the outbox record limit");
        }
        if (pending.containsKey(seq)) {
            throw new IllegalStateException("seq " + seq + " is already in the outbox");
        }
        while (!pending.isEmpty() && pendingBytes + report.length > maxPendingBytes) {
            Map.Entry<Long, byte[]> oldest = pending.pollFirstEntry();
            pendingBytes -= oldest.getValue().length;
            writeRecord(DROPPED, oldest.getKey(), null, false);
            losses = addLoss(losses, oldest.getKey());
            Logger.warn("outbox full ({} bytes): dropped report seq {}; {} report(s) lost so far, declared in the next report",
                    maxPendingBytes, oldest.getKey(), losses.count());
        }
        writeRecord(REPORT, seq, report, true);
        last = new Appended(seq, sha256(report));
        pending.put(seq, report);
        pendingBytes += report.length;
    }

    /** The broker has the report: forget it. Unknown seqs (already acknowledged) are ignored. */
    public synchronized void acknowledge(long seq) {
        byte[] removed = pending.remove(seq);
        if (removed == null) {
            return;
        }
        pendingBytes -= removed.length;
        writeRecord(ACKED, seq, null, false);
        maybeCompact();
    }

    /** The pending reports in seq order. */
    public synchronized List<Entry> pending() {
        return pending(Integer.MAX_VALUE);
    }

    /** The first {@code limit} pending reports in seq order (without copying the rest of a long backlog). */
    public synchronized List<Entry> pending(int limit) {
        List<Entry> out = new ArrayList<>(Math.min(limit, pending.size()));
        for (var e : pending.entrySet()) {
            if (out.size() >= limit) {
                break;
            }
            out.add(new Entry(e.getKey(), e.getValue()));
        }
        return out;
    }

    public synchronized int pendingCount() {
        return pending.size();
    }

    public synchronized Losses losses() {
        return losses;
    }

    /** The report appended last, if any was ever appended to this journal. */
    public synchronized java.util.Optional<Appended> lastAppended() {
        return java.util.Optional.ofNullable(last);
    }

    /** Bytes this process has written to the journal (records and compactions). */
    public synchronized long bytesWritten() {
        return bytesWritten;
    }

    /** Bytes cut from a torn or corrupt tail when the journal was opened. */
    public long recoveredTailBytes() {
        return recoveredTailBytes;
    }

    public Path file() {
        return file;
    }

    @Override
    public synchronized void close() {
        try {
            if (channel.isOpen()) {
                channel.force(false);
                channel.close();
            }
        } catch (IOException e) {
            Logger.warn("closing outbox journal {}: {}", file, e.getMessage());
        }
    }

    private static Losses addLoss(Losses l, long seq) {
        if (l.count() == 0) {
            return new Losses(1, seq, seq);
        }
        return new Losses(l.count() + 1, Math.min(l.firstSeq(), seq), Math.max(l.lastSeq(), seq));
    }

    private void writeRecord(byte type, long seq, byte[] data, boolean sync) {
        ByteBuffer record = encode(type, seq, data);
        int length = record.remaining();
        try {
            channel.position(fileBytes);
            while (record.hasRemaining()) {
                channel.write(record);
            }
            if (sync) {
                channel.force(false);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write outbox journal " + file + ": " + e.getMessage(), e);
        }
        fileBytes += length;
        bytesWritten += length;
    }

    private long recover() throws IOException {
        long size = channel.size();
        if (size == 0) {
            channel.write(ByteBuffer.wrap(MAGIC), 0);
            channel.force(true);
            fileBytes = HEADER;
            bytesWritten += HEADER;
            return 0;
        }
        ByteBuffer magic = ByteBuffer.allocate(HEADER);
        channel.read(magic, 0);
        if (size < HEADER || !java.util.Arrays.equals(magic.array(), MAGIC)) {
            Path aside = file.resolveSibling(file.getFileName() + ".unreadable-" + System.currentTimeMillis());
            channel.close();
            Files.move(file, aside);
            Logger.error("outbox journal {} is not an outbox journal; moved it to {} and started a new one", file, aside);
            channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
            channel.write(ByteBuffer.wrap(MAGIC), 0);
            channel.force(true);
            fileBytes = HEADER;
            return size;
        }
        long pos = HEADER;
        ByteBuffer head = ByteBuffer.allocate(8);
        while (pos < size) {
            head.clear();
            if (readFully(head, pos) < 8) {
                break;
            }
            int length = head.getInt(0);
            int expectedCrc = head.getInt(4);
            if (length < BODY_FIXED || length > MAX_RECORD_BYTES || pos + 8 + length > size) {
                break;
            }
            ByteBuffer body = ByteBuffer.allocate(length);
            if (readFully(body, pos + 8) < length) {
                break;
            }
            CRC32C crc = new CRC32C();
            crc.update(body.array(), 0, length);
            if ((int) crc.getValue() != expectedCrc) {
                break;
            }
            byte type = body.get(0);
            long seq = body.getLong(1);
            switch (type) {
                case REPORT -> {
                    byte[] data = java.util.Arrays.copyOfRange(body.array(), BODY_FIXED, length);
                    byte[] old = pending.put(seq, data);
                    pendingBytes += data.length - (old == null ? 0 : old.length);
                    last = new Appended(seq, sha256(data));
                }
                case ACKED -> {
                    byte[] old = pending.remove(seq);
                    pendingBytes -= old == null ? 0 : old.length;
                }
                case DROPPED -> {
                    byte[] old = pending.remove(seq);
                    pendingBytes -= old == null ? 0 : old.length;
                    losses = addLoss(losses, seq);
                }
                case LAST -> {
                    if (length - BODY_FIXED == 32) {
                        last = new Appended(seq, java.util.Arrays.copyOfRange(body.array(), BODY_FIXED, length));
                    }
                }
                case LOSSES -> {
                    ByteBuffer d = ByteBuffer.wrap(body.array(), BODY_FIXED, length - BODY_FIXED);
                    if (length - BODY_FIXED == 16) {
                        losses = new Losses(seq, d.getLong(), d.getLong());
                    }
                }
                default -> {
                    // An unknown type with a valid checksum: written by a newer version. Keep going.
                    Logger.warn("outbox journal {}: unknown record type {} at offset {}, skipped", file, type, pos);
                }
            }
            pos += 8 + length;
        }
        long cut = size - pos;
        if (cut > 0) {
            channel.truncate(pos);
            channel.force(true);
            Logger.warn("outbox journal {}: cut a torn or corrupt tail of {} bytes at offset {} (a power cut while writing); {} report(s) recovered",
                    file, cut, pos, pending.size());
        }
        fileBytes = pos;
        return cut;
    }

    private int readFully(ByteBuffer buf, long position) throws IOException {
        int total = 0;
        while (buf.hasRemaining()) {
            int n = channel.read(buf, position + total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    private void maybeCompact() {
        long live = HEADER + pendingBytes + (long) pending.size() * (8 + BODY_FIXED);
        if (fileBytes < COMPACT_MIN_BYTES || fileBytes - live < 4 * live) {
            return;
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".compact");
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            long written = 0;
            written += out.write(ByteBuffer.wrap(MAGIC));
            if (losses.count() > 0) {
                written += writeTo(out, encode(LOSSES, losses.count(), lossData(losses)));
            }
            for (Map.Entry<Long, byte[]> e : pending.entrySet()) {
                written += writeTo(out, encode(REPORT, e.getKey(), e.getValue()));
            }
            if (last != null) {
                written += writeTo(out, encode(LAST, last.seq(), last.sha256()));
            }
            out.force(true);
            channel.close();
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            syncDirectory(file.toAbsolutePath().getParent());
            channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
            fileBytes = written;
            bytesWritten += written;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot compact outbox journal " + file + ": " + e.getMessage(), e);
        }
    }

    private static long writeTo(FileChannel out, ByteBuffer record) throws IOException {
        long n = 0;
        while (record.hasRemaining()) {
            n += out.write(record);
        }
        return n;
    }

    /** One record: {@code u32 length | u32 crc32c(body) | u8 type | u64 seq | data}. */
    private static ByteBuffer encode(byte type, long seq, byte[] data) {
        int dataLength = data == null ? 0 : data.length;
        ByteBuffer buf = ByteBuffer.allocate(8 + BODY_FIXED + dataLength);
        buf.putInt(BODY_FIXED + dataLength).putInt(0).put(type).putLong(seq);
        if (data != null) {
            buf.put(data);
        }
        CRC32C crc = new CRC32C();
        crc.update(buf.array(), 8, BODY_FIXED + dataLength);
        buf.putInt(4, (int) crc.getValue());
        return buf.flip();
    }

    private static byte[] sha256(byte[] data) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(data);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] lossData(Losses l) {
        return ByteBuffer.allocate(16).putLong(l.firstSeq()).putLong(l.lastSeq()).array();
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // Some filesystems cannot sync a directory; the rename is still atomic.
            Logger.debug("cannot fsync directory {}: {}", dir, e.getMessage());
        }
    }
}
