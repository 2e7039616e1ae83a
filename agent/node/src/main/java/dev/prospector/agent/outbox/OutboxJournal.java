package dev.prospector.agent.outbox;

import dev.prospector.agent.common.StorageFailure;
import dev.prospector.attest.AtomicFiles;
import dev.prospector.attest.CrashPoint;
import dev.prospector.attest.Sha256;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.zip.CRC32C;
import org.tinylog.Logger;

/**
 * The agent's outbox: an append-only, checksummed journal of reports that are not yet delivered.
 *
 * <h2>What always holds</h2>
 * <ul>
 *   <li>A report is on disk (written and {@code fdatasync}ed) before {@link #append} returns, so it
 *       is never published before it is durable: a power cut after delivery but before we record it
 *       only causes a re-send, which the verifier treats as a duplicate.</li>
 *   <li>A report leaves the pending set only by {@link #acknowledge} (its delivery is confirmed:
 *       by the verifier's signed receipt, or by the broker where no verifier key is trusted) or by
 *       {@link #append} dropping the oldest when the journal is full; every drop is counted in
 *       {@link #losses()}, logged, and persisted, so that the next report can declare it.</li>
 *   <li>Pending reports are kept and sent in the order they were appended (by a journal-local id,
 *       not by seq), so reports of an earlier chain still go out, first, after the device started a
 *       new chain.</li>
 *   <li>Recovery never fails on a torn or corrupt file. Records are read in order; a record whose
 *       length is impossible, whose bytes end early or whose CRC-32C does not match is either a torn
 *       tail (nothing valid follows: the file is cut there) or damage in the middle (valid records
 *       follow: the reader resynchronises on the next valid record). Reports that were in a damaged
 *       region are declared lost by their seq range (the seqs between the reports on either side),
 *       so the next report's {@code lost} claim says so. Appends never rewrite earlier bytes.</li>
 *   <li>The journal belongs to one device: its first record names the owner, and a journal of
 *       another device found in the data dir is moved aside and never sent under this device's
 *       name.</li>
 * </ul>
 *
 * <h2>Format</h2>
 * The file starts with the 8-byte magic {@code PXOUTBX3}. Then records:
 * {@code u32 length | u32 crc32c(body) | body}, body = {@code u8 type | u64 a | data}, big-endian.
 * Types: {@code 7} owner (a: the next report id; data: the owner's device id, ASCII), {@code 6}
 * report (a: id; data: {@code u64 seq | u8 chain length | chain id | report bytes}), {@code 2}
 * delivered (a: id), {@code 3} dropped for lack of room (a: id), {@code 4} loss totals (a: count;
 * data: first and last lost seq), {@code 5} the last appended report (a: seq; data: its SHA-256 and
 * chain id), written by compaction so that the chain state can be reconciled after a crash,
 * {@code 8} checkpoint (a: seq; data: chain id): the chain state file was written at that position
 * (see {@link #noteCheckpoint}). Between records there may be zeros up to the next 4 KiB boundary
 * (padding, see below), and after the last record zeros up to the end of the file (space
 * preallocated for the next records): a reader takes zeros from a record boundary to the next page
 * boundary as padding and zeros from a page boundary to the end of the file as the end of the
 * journal, never as damage. Files of the second format ({@code PXOUTBX2}: no padding, no
 * preallocation, no checkpoint records) and of the first ({@code PXOUTBX1}, type {@code 1} reports
 * keyed by seq) are read and rewritten in this one.
 *
 * <h2>Writes (SD cards wear out)</h2>
 * Per report: the report record once (its size + 34 bytes), with one {@code fdatasync}; the
 * delivery record adds 17 bytes and is not synced on its own (losing it costs a duplicate send,
 * never a report). Compaction rewrites only the still-pending reports, and runs only when the file
 * holds at least {@link #COMPACT_MIN_BYTES} and four times more dead bytes than pending ones, so
 * while reports are delivered it rewrites almost nothing.
 *
 * <p>What reaches the card is whole 4 KiB pages: each {@code fdatasync} writes every page the
 * append dirtied. Two rules keep that to one page per report for reports up to a page: (1) after
 * a synced append, when the rest of the page is smaller than that append's record, the next record
 * starts on the next page (the rest is left as zero padding), so a record rarely straddles two
 * pages and the delivery records written meanwhile land on the page the next report's sync writes
 * anyway; (2) the file is extended ahead of the records in steps of
 * {@link Tuning#preallocateBytes} (with {@code ftruncate}, followed by one {@code fsync}), so that
 * an append's {@code fdatasync} never has a file size to commit.
 *
 * <h2>Memory (a board has 64 MB for everything)</h2>
 * Pending reports are kept off the heap: in memory the journal holds, per pending report, its seq,
 * chain id (shared between reports of one chain) and where its record is in the file. The bytes
 * are read back from the file (the page cache, usually) when {@link #pending} is asked for them,
 * and the record's CRC-32C is checked again; only up to {@link #HEAP_CACHE_BYTES} of report bytes
 * are kept on the heap (the newest appended while there is room, and those read back for the head
 * of the queue), so that during a long broker outage the heap holds a few dozen bytes per report,
 * not the full outbox bound. A record that no longer reads back whole (the file was damaged under
 * the running agent) is declared lost, as damage found at recovery is.
 *
 * <p>Thread-safe: every method is synchronized on the journal.
 */
public final class OutboxJournal implements AutoCloseable {
    private static final byte[] MAGIC_V1 = {'P', 'X', 'O', 'U', 'T', 'B', 'X', '1'};
    private static final byte[] MAGIC_V2 = {'P', 'X', 'O', 'U', 'T', 'B', 'X', '2'};
    private static final byte[] MAGIC = {'P', 'X', 'O', 'U', 'T', 'B', 'X', '3'};
    private static final byte REPORT_V1 = 1;
    private static final byte DELIVERED = 2;
    private static final byte DROPPED = 3;
    private static final byte LOSSES = 4;
    private static final byte LAST = 5;
    private static final byte REPORT = 6;
    private static final byte OWNER = 7;
    private static final byte CHECKPOINT = 8;
    /** The page size of the page cache: what one sync writes at least, and the unit of padding. */
    static final int PAGE = 4096;

    private static final int HEADER = 8;
    private static final int BODY_FIXED = 9;
    /** Report record overhead inside the body: seq and the chain id's length. */
    private static final int REPORT_FIXED = 9;
    /** Longest chain id kept with a report. */
    private static final int MAX_CHAIN_BYTES = 64;
    /** Longest owner id. */
    private static final int MAX_OWNER_BYTES = 128;
    /** Largest record accepted at recovery; anything larger is a torn length field. */
    public static final int MAX_RECORD_BYTES = 1 << 20;
    /** Compaction threshold: never compact a file smaller than this. */
    static final long COMPACT_MIN_BYTES = 1 << 20;
    /** The step in which the file is extended ahead of its records. */
    static final long PREALLOCATE_BYTES = 1 << 20;
    /** Most bytes of pending reports also kept on the heap; the rest are read back from the file. */
    static final long HEAP_CACHE_BYTES = 64 << 10;

    /**
     * Sizes of the file's housekeeping: compaction never runs on a file smaller than
     * {@code compactMinBytes}; the file is extended {@code preallocateBytes} at a time.
     */
    public record Tuning(long compactMinBytes, long preallocateBytes) {
        public static final Tuning DEFAULT = new Tuning(COMPACT_MIN_BYTES, PREALLOCATE_BYTES);

        public Tuning {
            if (compactMinBytes < PAGE || preallocateBytes < PAGE || preallocateBytes % PAGE != 0) {
                throw new IllegalArgumentException("compaction and preallocation steps must be whole pages");
            }
        }
    }

    /** A report waiting for delivery: its journal id (append order), its seq, its bytes. */
    public record Entry(long id, long seq, byte[] report) {}

    /**
     * The report appended last (by file order), even once delivered: what the chain state must
     * have reached. {@code chain} is empty for journals of the first format.
     */
    public record Appended(long seq, Optional<byte[]> chain, byte[] sha256) {}

    /** Reports lost (dropped because the outbox was full, or damaged on disk), in total since the journal was created. */
    public record Losses(long count, long firstSeq, long lastSeq) {
        static final Losses NONE = new Losses(0, -1, -1);
    }

    /**
     * A pending report: its seq and chain, where its record starts in the file, the report's
     * length, and its bytes if they are also kept on the heap (see {@link #HEAP_CACHE_BYTES}).
     */
    private static final class Pending {
        final long seq;
        final byte[] chain;
        long recordAt;
        final int length;
        byte[] cached;

        Pending(long seq, byte[] chain, long recordAt, int length) {
            this.seq = seq;
            this.chain = chain;
            this.recordAt = recordAt;
            this.length = length;
        }
    }

    private final Path file;
    private final long maxPendingBytes;
    private final String owner;
    private final Tuning tuning;
    private FileChannel channel;
    /** The file's size: {@link #fileBytes} (where the next record goes) and preallocated zeros after it. */
    private long allocated;
    /** The newest checkpoint of the chain state recorded here: its chain and seq. */
    private byte[] checkpointChain;

    private long checkpointSeq;
    private final TreeMap<Long, Pending> pending = new TreeMap<>();
    private long nextId = 1;
    private long pendingBytes;
    /** Bytes of pending reports kept on the heap too. */
    private long cachedBytes;

    private long fileBytes;
    private long bytesWritten;
    private Losses losses = Losses.NONE;
    private Appended last;
    private long recoveredTailBytes;
    private long damagedBytes;
    private boolean rewriteAfterRecovery;
    private Optional<Path> setAside = Optional.empty();

    private OutboxJournal(Path file, long maxPendingBytes, String owner, Tuning tuning) throws IOException {
        this.file = file;
        this.maxPendingBytes = maxPendingBytes;
        this.owner = owner;
        this.tuning = tuning;
        Files.createDirectories(file.toAbsolutePath().getParent());
        this.channel =
                FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        recover();
        if (rewriteAfterRecovery) {
            compact();
        }
    }

    /**
     * Opens (creating if needed) the journal of {@code owner} (the device id) and recovers its
     * pending reports. A journal that names another owner is moved aside (see {@link #setAside()})
     * and a new one is started.
     *
     * @param maxPendingBytes bound on the reports kept; beyond it the oldest are dropped and counted
     */
    public static OutboxJournal open(Path file, long maxPendingBytes, String owner) {
        return open(file, maxPendingBytes, owner, Tuning.DEFAULT);
    }

    /** {@link #open(Path, long, String)} with other compaction and preallocation sizes (tests). */
    public static OutboxJournal open(Path file, long maxPendingBytes, String owner, Tuning tuning) {
        if (maxPendingBytes < 1024) {
            throw new IllegalArgumentException("outbox size must be at least 1 KiB, got " + maxPendingBytes);
        }
        if (owner.isEmpty()
                || owner.length() > MAX_OWNER_BYTES
                || !StandardCharsets.US_ASCII.newEncoder().canEncode(owner)) {
            throw new IllegalArgumentException("outbox owner must be 1-" + MAX_OWNER_BYTES + " ASCII characters");
        }
        try {
            return new OutboxJournal(file, maxPendingBytes, owner, tuning);
        } catch (IOException e) {
            throw new StorageFailure("cannot open outbox journal " + file + ": " + e.getMessage(), e);
        }
    }

    /** Stores a report of no particular chain durably; returns its id. See {@link #append(long, byte[], byte[])}. */
    public synchronized long append(long seq, byte[] report) {
        return append(seq, new byte[0], report);
    }

    /**
     * Stores a report durably and returns its id (which {@link #acknowledge} takes). Drops (and
     * counts) the oldest pending reports if it would not fit.
     *
     * @param chain the report's chain id, kept so that the chain state can be reconciled
     */
    public synchronized long append(long seq, byte[] chain, byte[] report) {
        if (report.length + BODY_FIXED + REPORT_FIXED + chain.length > MAX_RECORD_BYTES) {
            throw new IllegalArgumentException("report of " + report.length + " bytes exceeds the outbox record limit");
        }
        if (chain.length > MAX_CHAIN_BYTES) {
            throw new IllegalArgumentException("chain id of " + chain.length + " bytes is too long");
        }
        boolean dropped = false;
        while (!pending.isEmpty() && pendingBytes + report.length > maxPendingBytes) {
            dropped = true;
            Map.Entry<Long, Pending> oldest = pending.pollFirstEntry();
            forget(oldest.getValue());
            writeRecord(DROPPED, oldest.getKey(), null, false);
            losses = addLoss(losses, oldest.getValue().seq, oldest.getValue().seq);
            Logger.warn(
                    "outbox full ({} bytes): dropped report seq {}; {} report(s) lost so far, declared in the next report",
                    maxPendingBytes,
                    oldest.getValue().seq,
                    losses.count());
        }
        long id = nextId++;
        long at = writeRecord(REPORT, id, reportData(seq, chain, report), true);
        byte[] sharedChain = sharedChain(chain);
        last = new Appended(seq, Optional.of(sharedChain.clone()), Sha256.of(report));
        Pending p = new Pending(seq, sharedChain, at, report.length);
        cache(p, report);
        pending.put(id, p);
        pendingBytes += report.length;
        if (dropped) {
            // A long outage: reports come in and the oldest drop out, none is delivered. Without
            // this the dropped ones' records would pile up in the file until the broker is back.
            maybeCompact();
        }
        return id;
    }

    /** Delivery of report {@code id} is confirmed: forget it. Unknown ids (already acknowledged) are ignored. */
    public synchronized void acknowledge(long id) {
        Pending removed = pending.remove(id);
        if (removed == null) {
            return;
        }
        forget(removed);
        writeRecord(DELIVERED, id, null, false);
        maybeCompact();
    }

    /**
     * Declares reports {@code firstSeq..lastSeq} lost although they never were in this journal, or
     * no longer are (the journal was missing, damaged or behind the chain state): they count in
     * {@link #losses()} from now on, durably.
     */
    public synchronized void declareLost(long firstSeq, long lastSeq) {
        if (lastSeq < firstSeq) {
            return;
        }
        losses = addLoss(losses, firstSeq, lastSeq);
        writeRecord(LOSSES, losses.count(), lossData(losses), true);
        Logger.error(
                "declared reports seq {}..{} lost: their outbox records are gone; {} report(s) lost so far, declared in the next report",
                firstSeq,
                lastSeq,
                losses.count());
    }

    /**
     * Records that the chain's newest report is {@code seq} of {@code chain} with SHA-256
     * {@code sha256} although it is not in this journal (it was lost from it and declared): so the
     * journal's {@link #lastAppended()} agrees with the chain state again. Durable on return.
     */
    public synchronized void markLast(long seq, byte[] chain, byte[] sha256) {
        byte[] data = Arrays.copyOf(sha256, 32 + chain.length);
        System.arraycopy(chain, 0, data, 32, chain.length);
        writeRecord(LAST, seq, data, true);
        last = new Appended(seq, Optional.of(chain.clone()), sha256.clone());
    }

    /**
     * Records that the chain state file was written (durably) at report {@code seq} of
     * {@code chain}. Not synced on its own: the next append's sync carries it, and a checkpoint
     * record lost in a power cut only makes the journal remember an older checkpoint. The chain
     * state is then trusted down to that seq: a state file found behind it was rolled back.
     */
    public synchronized void noteCheckpoint(byte[] chain, long seq) {
        writeRecord(CHECKPOINT, seq, chain.clone(), false);
        checkpointChain = chain.clone();
        checkpointSeq = seq;
    }

    /** The newest checkpoint of {@code chain} recorded here, if any. */
    public synchronized OptionalLong checkpointed(byte[] chain) {
        return checkpointChain != null && Arrays.equals(checkpointChain, chain)
                ? OptionalLong.of(checkpointSeq)
                : OptionalLong.empty();
    }

    /** The pending reports in append order. */
    public synchronized List<Entry> pending() {
        return pending(Integer.MAX_VALUE);
    }

    /** The first {@code limit} pending reports in append order (without copying the rest of a long backlog). */
    public synchronized List<Entry> pending(int limit) {
        List<Entry> out = new ArrayList<>(Math.min(limit, pending.size()));
        List<Long> unreadable = new ArrayList<>();
        for (var e : pending.entrySet()) {
            if (out.size() >= limit) {
                break;
            }
            Pending p = e.getValue();
            byte[] report = p.cached;
            if (report == null) {
                report = readBack(p);
                if (report == null) {
                    unreadable.add(e.getKey());
                    continue;
                }
                cache(p, report);
            }
            out.add(new Entry(e.getKey(), p.seq, report));
        }
        for (long id : unreadable) {
            Pending p = pending.remove(id);
            forget(p);
            writeRecord(DELIVERED, id, null, false);
            Logger.error(
                    "outbox journal {}: the record of report seq {} no longer reads back whole (the file was changed under the agent)",
                    file,
                    p.seq);
            declareLost(p.seq, p.seq);
        }
        return unreadable.isEmpty() || out.size() >= limit ? out : pending(limit);
    }

    /** The bytes of a pending report read back from its record, CRC checked; null if it does not read back whole. */
    private byte[] readBack(Pending p) {
        try {
            Rec rec = readRecord(p.recordAt, fileBytes);
            if (rec == null || (rec.type() != REPORT && rec.type() != REPORT_V1)) {
                return null;
            }
            byte[] report = reportOf(rec);
            return report.length == p.length ? report : null;
        } catch (IOException e) {
            throw new StorageFailure("cannot read outbox journal " + file + ": " + e.getMessage(), e);
        }
    }

    /** The report bytes of a report record (either format). */
    private static byte[] reportOf(Rec rec) {
        if (rec.type() == REPORT_V1) {
            return rec.data();
        }
        int chainLength = rec.body()[BODY_FIXED + 8] & 0xff;
        return Arrays.copyOfRange(rec.body(), BODY_FIXED + REPORT_FIXED + chainLength, rec.length());
    }

    /** Keeps {@code report} on the heap with {@code p} if the cache has room. */
    private void cache(Pending p, byte[] report) {
        if (p.cached == null && cachedBytes + report.length <= HEAP_CACHE_BYTES) {
            p.cached = report;
            cachedBytes += report.length;
        }
    }

    /** {@code p} left the pending set: its bytes leave the counts. */
    private void forget(Pending p) {
        pendingBytes -= p.length;
        if (p.cached != null) {
            cachedBytes -= p.cached.length;
            p.cached = null;
        }
    }

    /** {@code chain}, or an equal array already held by a pending report (one copy per chain, not per report). */
    private byte[] sharedChain(byte[] chain) {
        Map.Entry<Long, Pending> newest = pending.lastEntry();
        if (newest != null && Arrays.equals(newest.getValue().chain, chain)) {
            return newest.getValue().chain;
        }
        return chain.clone();
    }

    public synchronized int pendingCount() {
        return pending.size();
    }

    /** Bytes of the pending reports. */
    public synchronized long pendingBytes() {
        return pendingBytes;
    }

    /** The lowest seq among pending reports of {@code chain}, if any. */
    public synchronized Optional<Long> firstPendingSeq(byte[] chain) {
        long min = Long.MAX_VALUE;
        for (Pending p : pending.values()) {
            if (Arrays.equals(p.chain, chain) && p.seq < min) {
                min = p.seq;
            }
        }
        return min == Long.MAX_VALUE ? Optional.empty() : Optional.of(min);
    }

    public synchronized Losses losses() {
        return losses;
    }

    /** The report appended last, if any was ever appended to this journal. */
    public synchronized Optional<Appended> lastAppended() {
        return Optional.ofNullable(last);
    }

    /** Bytes this process has written to the journal (records and compactions). */
    public synchronized long bytesWritten() {
        return bytesWritten;
    }

    /** Bytes cut from a torn tail when the journal was opened. */
    public synchronized long recoveredTailBytes() {
        return recoveredTailBytes;
    }

    /** Bytes skipped inside the journal because they were damaged, when it was opened. */
    public synchronized long damagedBytes() {
        return damagedBytes;
    }

    /** Where a journal that was not this device's (or not a journal) was moved when it was opened. */
    public synchronized Optional<Path> setAside() {
        return setAside;
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

    private static Losses addLoss(Losses l, long firstSeq, long lastSeq) {
        long n = lastSeq - firstSeq + 1;
        if (l.count() == 0) {
            return new Losses(n, firstSeq, lastSeq);
        }
        return new Losses(l.count() + n, Math.min(l.firstSeq(), firstSeq), Math.max(l.lastSeq(), lastSeq));
    }

    /** Appends one record; returns the offset it starts at. */
    private long writeRecord(byte type, long a, byte[] data, boolean sync) {
        ByteBuffer record = encode(type, a, data);
        int length = record.remaining();
        long at = fileBytes;
        try {
            preallocate(fileBytes + length);
            channel.position(fileBytes);
            while (record.hasRemaining()) {
                channel.write(record);
            }
            if (sync) {
                if (type == REPORT) {
                    CrashPoint.reach("append-before-sync");
                }
                channel.force(false);
                if (type == REPORT) {
                    CrashPoint.reach("append-after-sync");
                }
            }
        } catch (IOException e) {
            throw new StorageFailure("cannot write outbox journal " + file + ": " + e.getMessage(), e);
        }
        fileBytes += length;
        bytesWritten += length;
        long rest = PAGE - fileBytes % PAGE;
        if (sync && rest < PAGE && rest < length) {
            // The page is synced; the next record of this size would straddle it and the next.
            fileBytes += rest;
        }
        return at;
    }

    /**
     * Makes the file at least {@code end} bytes long, in steps, before a record is written there:
     * the size changes (and is synced) here, once per step, so that the append's {@code fdatasync}
     * commits data only. {@code ftruncate} makes the new space read as zeros without writing it.
     */
    private void preallocate(long end) throws IOException {
        if (end <= allocated) {
            return;
        }
        long step = tuning.preallocateBytes();
        long size = (end + step - 1) / step * step;
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(size);
        }
        CrashPoint.reach("preallocate-before-sync");
        channel.force(true);
        allocated = size;
    }

    /** One record read from the file. */
    private record Rec(byte type, long a, byte[] body, int length) {
        byte[] data() {
            return Arrays.copyOfRange(body, BODY_FIXED, length);
        }
    }

    private void recover() throws IOException {
        long size = channel.size();
        if (size == 0) {
            startNew();
            return;
        }
        ByteBuffer magic = ByteBuffer.allocate(HEADER);
        readFully(magic, 0);
        boolean v1 = Arrays.equals(magic.array(), MAGIC_V1);
        boolean v2 = Arrays.equals(magic.array(), MAGIC_V2);
        if (size < HEADER || !(v1 || v2 || Arrays.equals(magic.array(), MAGIC))) {
            moveAside("unreadable", "is not an outbox journal");
            return;
        }
        boolean padded = !v1 && !v2;
        long pos = HEADER;
        long lastReportSeqBeforeHole = -1;
        byte[] lastChainBeforeHole = new byte[0];
        boolean inHoleAfterReport = false;
        Optional<String> fileOwner = Optional.empty();
        while (pos < size) {
            Rec rec = readRecord(pos, size);
            if (rec == null && padded) {
                long boundary = (pos / PAGE + 1) * PAGE;
                if (pos % PAGE != 0 && boundary < size && zeros(pos, boundary)) {
                    // Padding after a synced record: the next record starts on the next page. A
                    // report that went missing here would show as a jump in seq, as in a hole.
                    lastReportSeqBeforeHole = last == null ? -1 : last.seq();
                    lastChainBeforeHole =
                            last == null ? new byte[0] : last.chain().orElse(new byte[0]);
                    inHoleAfterReport = true;
                    pos = boundary;
                    continue;
                }
                if (zeros(pos, size)) {
                    break; // the end of the journal; the zeros after it are preallocated
                }
            }
            if (rec == null) {
                long next = resync(pos + 1, size);
                if (next < 0) {
                    break; // a torn tail: cut below
                }
                damagedBytes += next - pos;
                rewriteAfterRecovery = true;
                Logger.error(
                        "outbox journal {}: {} damaged bytes at offset {} skipped; the records after them are kept",
                        file,
                        next - pos,
                        pos);
                lastReportSeqBeforeHole = last == null ? -1 : last.seq();
                lastChainBeforeHole = last == null ? new byte[0] : last.chain().orElse(new byte[0]);
                inHoleAfterReport = true;
                pos = next;
                continue;
            }
            switch (rec.type()) {
                case REPORT_V1, REPORT -> {
                    long id = rec.a();
                    long seq;
                    byte[] chain;
                    if (rec.type() == REPORT_V1) {
                        seq = id;
                        chain = new byte[0];
                    } else {
                        ByteBuffer d = ByteBuffer.wrap(rec.body(), BODY_FIXED, rec.length() - BODY_FIXED);
                        seq = d.getLong();
                        int chainLength = d.get() & 0xff;
                        chain = new byte[chainLength];
                        d.get(chain);
                    }
                    byte[] report = reportOf(rec);
                    if (inHoleAfterReport) {
                        // Reports between the last one before the damage and this one were in it.
                        inHoleAfterReport = false;
                        if (lastReportSeqBeforeHole >= 0
                                && seq > lastReportSeqBeforeHole + 1
                                && Arrays.equals(lastChainBeforeHole, chain)) {
                            losses = addLoss(losses, lastReportSeqBeforeHole + 1, seq - 1);
                            Logger.error(
                                    "outbox journal {}: reports seq {}..{} were in the damaged bytes; declared lost",
                                    file,
                                    lastReportSeqBeforeHole + 1,
                                    seq - 1);
                        }
                    }
                    Pending old = pending.put(id, new Pending(seq, sharedChain(chain), pos, report.length));
                    pendingBytes += report.length - (old == null ? 0 : old.length);
                    last = new Appended(
                            seq, rec.type() == REPORT ? Optional.of(chain) : Optional.empty(), Sha256.of(report));
                    nextId = Math.max(nextId, id + 1);
                }
                case DELIVERED -> {
                    Pending old = pending.remove(rec.a());
                    pendingBytes -= old == null ? 0 : old.length;
                }
                case DROPPED -> {
                    Pending old = pending.remove(rec.a());
                    pendingBytes -= old == null ? 0 : old.length;
                    long seq = old == null ? rec.a() : old.seq;
                    losses = addLoss(losses, seq, seq);
                }
                case LAST -> {
                    int n = rec.length() - BODY_FIXED;
                    if (n == 32) {
                        last = new Appended(rec.a(), Optional.empty(), rec.data());
                    } else if (n > 32) {
                        byte[] d = rec.data();
                        last = new Appended(rec.a(), Optional.of(Arrays.copyOfRange(d, 32, n)), Arrays.copyOf(d, 32));
                    }
                }
                case LOSSES -> {
                    if (rec.length() - BODY_FIXED == 16) {
                        ByteBuffer d = ByteBuffer.wrap(rec.body(), BODY_FIXED, 16);
                        losses = new Losses(rec.a(), d.getLong(), d.getLong());
                    }
                }
                case OWNER -> {
                    fileOwner = Optional.of(new String(rec.data(), StandardCharsets.US_ASCII));
                    nextId = Math.max(nextId, rec.a());
                }
                case CHECKPOINT -> {
                    checkpointChain = rec.data();
                    checkpointSeq = rec.a();
                }
                default -> {
                    // An unknown type with a valid checksum: written by a newer version. Keep going.
                    Logger.warn(
                            "outbox journal {}: unknown record type {} at offset {}, skipped", file, rec.type(), pos);
                }
            }
            pos += 8 + rec.length();
        }
        if (fileOwner.isPresent() && !fileOwner.get().equals(owner)) {
            resetState();
            moveAside(
                    "foreign-" + fileOwner.get(),
                    "belongs to device " + fileOwner.get() + ", not to this device " + owner
                            + " (copied from another board?); its reports are not sent");
            return;
        }
        long dataEnd = padded ? dataEnd(pos, size) : size;
        long cut = dataEnd - pos;
        allocated = size;
        if (cut > 0) {
            channel.truncate(pos);
            channel.force(true);
            allocated = pos;
            recoveredTailBytes = cut;
            Logger.warn(
                    "outbox journal {}: cut a torn tail of {} bytes at offset {} (a power cut while writing); {} report(s) recovered",
                    file,
                    cut,
                    pos,
                    pending.size());
        }
        fileBytes = pos;
        if (v1 || v2 || fileOwner.isEmpty()) {
            rewriteAfterRecovery = true; // into the current format, naming its owner
        }
    }

    /** The record at {@code pos}, or null if none valid starts there. */
    private Rec readRecord(long pos, long size) throws IOException {
        if (pos + 8 > size) {
            return null;
        }
        ByteBuffer head = ByteBuffer.allocate(8);
        if (readFully(head, pos) < 8) {
            return null;
        }
        int length = head.getInt(0);
        int expectedCrc = head.getInt(4);
        if (length < BODY_FIXED || length > MAX_RECORD_BYTES || pos + 8 + length > size) {
            return null;
        }
        ByteBuffer body = ByteBuffer.allocate(length);
        if (readFully(body, pos + 8) < length) {
            return null;
        }
        CRC32C crc = new CRC32C();
        crc.update(body.array(), 0, length);
        if ((int) crc.getValue() != expectedCrc) {
            return null;
        }
        byte type = body.get(0);
        if (type < REPORT_V1 || type > CHECKPOINT) {
            return null; // while resynchronising, a known type is part of what makes a record believable
        }
        return new Rec(type, body.getLong(1), body.array(), length);
    }

    /** The offset of the next valid record at or after {@code from}, or -1 if none follows. */
    private long resync(long from, long size) throws IOException {
        for (long p = from; p + 8 + BODY_FIXED <= size; p++) {
            if (p % PAGE == 0 || p == from) {
                // A record's length field has a non-zero byte among its four: skip runs of zeros
                // (padding, preallocated space) without reading a record at every offset.
                long nz = nextNonZero(p, size);
                if (nz < 0) {
                    return -1;
                }
                p = Math.max(p, nz - 3);
            }
            if (readRecord(p, size) != null) {
                return p;
            }
        }
        return -1;
    }

    /** Whether bytes {@code from..to} (exclusive) of the file are all zero. */
    private boolean zeros(long from, long to) throws IOException {
        long nz = nextNonZero(from, to);
        return nz < 0;
    }

    /** The offset of the first non-zero byte in {@code from..to} (exclusive), or -1. */
    private long nextNonZero(long from, long to) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        for (long p = from; p < to; ) {
            buf.clear().limit((int) Math.min(buf.capacity(), to - p));
            int n = readFully(buf, p);
            if (n <= 0) {
                return -1;
            }
            for (int i = 0; i < n; i++) {
                if (buf.get(i) != 0) {
                    return p + i;
                }
            }
            p += n;
        }
        return -1;
    }

    /** One past the last non-zero byte in {@code from..size}, or {@code from} if there is none. */
    private long dataEnd(long from, long size) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        for (long end = size; end > from; ) {
            long start = Math.max(from, end - buf.capacity());
            buf.clear().limit((int) (end - start));
            int n = readFully(buf, start);
            for (int i = n - 1; i >= 0; i--) {
                if (buf.get(i) != 0) {
                    return start + i + 1;
                }
            }
            end = start;
        }
        return from;
    }

    private void resetState() {
        pending.clear();
        pendingBytes = 0;
        cachedBytes = 0;
        losses = Losses.NONE;
        last = null;
        checkpointChain = null;
        checkpointSeq = 0;
        nextId = 1;
        damagedBytes = 0;
        rewriteAfterRecovery = false;
    }

    private void moveAside(String suffix, String why) throws IOException {
        Path aside = file.resolveSibling(file.getFileName() + "." + suffix + "-" + System.currentTimeMillis());
        channel.close();
        Files.move(file, aside); // a rename to a new name, not a replace: no AtomicFiles
        setAside = Optional.of(aside);
        Logger.error("outbox journal {} {}; moved it to {} and started a new one", file, why, aside);
        channel = FileChannel.open(
                file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
        startNew();
    }

    private void startNew() throws IOException {
        channel.truncate(0);
        fileBytes = 0;
        allocated = 0;
        ByteBuffer magic = ByteBuffer.wrap(MAGIC);
        while (magic.hasRemaining()) {
            channel.write(magic, fileBytes + magic.position());
        }
        fileBytes = HEADER;
        allocated = HEADER;
        bytesWritten += HEADER;
        writeRecord(OWNER, nextId, owner.getBytes(StandardCharsets.US_ASCII), false);
        channel.force(true);
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
        long live = HEADER + pendingBytes + (long) pending.size() * (8 + BODY_FIXED + REPORT_FIXED + 16);
        if (fileBytes < tuning.compactMinBytes() || fileBytes - live < 4 * live) {
            return;
        }
        compact();
    }

    /**
     * Rewrites the file to what is live, replacing it atomically ({@link AtomicFiles}: temp file,
     * sync, rename, sync directory) by a file only the service's user can read, as the service's
     * {@code UMask=0077} makes every file in its state dir. The journal's own channel is closed
     * before the rename: not every platform renames over an open file.
     */
    private void compact() {
        // Where each pending record lands in the new file; applied once the new file replaced the old.
        Map<Long, Long> movedTo = new java.util.HashMap<>();
        List<Long> unreadable = new ArrayList<>();
        try {
            AtomicFiles.write(file, AtomicFiles.OWNER_ONLY, out -> {
                writeTo(out, ByteBuffer.wrap(MAGIC));
                writeTo(out, encode(OWNER, nextId, owner.getBytes(StandardCharsets.US_ASCII)));
                if (losses.count() > 0) {
                    writeTo(out, encode(LOSSES, losses.count(), lossData(losses)));
                }
                if (checkpointChain != null) {
                    writeTo(out, encode(CHECKPOINT, checkpointSeq, checkpointChain));
                }
                for (Map.Entry<Long, Pending> e : pending.entrySet()) {
                    Pending p = e.getValue();
                    byte[] report = p.cached != null ? p.cached : readBack(p);
                    if (report == null) {
                        unreadable.add(e.getKey());
                        continue;
                    }
                    movedTo.put(e.getKey(), out.position());
                    writeTo(out, encode(REPORT, e.getKey(), reportData(p.seq, p.chain, report)));
                }
                CrashPoint.reach("compact-mid-write");
                if (last != null) {
                    byte[] chain = last.chain().orElse(new byte[0]);
                    byte[] data = Arrays.copyOf(last.sha256(), 32 + chain.length);
                    System.arraycopy(chain, 0, data, 32, chain.length);
                    writeTo(out, encode(LAST, last.seq(), data));
                }
                channel.close();
            });
            CrashPoint.reach("compact-after-rename");
            channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
            long written = channel.size();
            fileBytes = written;
            allocated = written;
            bytesWritten += written;
            movedTo.forEach((id, at) -> pending.get(id).recordAt = at);
            for (long id : unreadable) {
                // Not in the new file: lost. Counted and declared as damage found at recovery is.
                Pending p = pending.remove(id);
                forget(p);
                Logger.error(
                        "outbox journal {}: the record of report seq {} no longer read back whole when compacting",
                        file,
                        p.seq);
                declareLost(p.seq, p.seq);
            }
        } catch (IOException e) {
            throw new StorageFailure("cannot compact outbox journal " + file + ": " + e.getMessage(), e);
        }
    }

    private static void writeTo(FileChannel out, ByteBuffer record) throws IOException {
        while (record.hasRemaining()) {
            out.write(record);
        }
    }

    private static byte[] reportData(long seq, byte[] chain, byte[] report) {
        return ByteBuffer.allocate(REPORT_FIXED + chain.length + report.length)
                .putLong(seq)
                .put((byte) chain.length)
                .put(chain)
                .put(report)
                .array();
    }

    /** One record: {@code u32 length | u32 crc32c(body) | u8 type | u64 a | data}. */
    private static ByteBuffer encode(byte type, long a, byte[] data) {
        int dataLength = data == null ? 0 : data.length;
        ByteBuffer buf = ByteBuffer.allocate(8 + BODY_FIXED + dataLength);
        buf.putInt(BODY_FIXED + dataLength).putInt(0).put(type).putLong(a);
        if (data != null) {
            buf.put(data);
        }
        CRC32C crc = new CRC32C();
        crc.update(buf.array(), 8, BODY_FIXED + dataLength);
        buf.putInt(4, (int) crc.getValue());
        return buf.flip();
    }

    private static byte[] lossData(Losses l) {
        return ByteBuffer.allocate(16)
                .putLong(l.firstSeq())
                .putLong(l.lastSeq())
                .array();
    }
}
