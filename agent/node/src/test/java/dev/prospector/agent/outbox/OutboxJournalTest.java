package dev.prospector.agent.outbox;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutboxJournalTest {
    /** The device the journals belong to. */
    private static final String OWNER = "pxyzdevice";
    /** Bytes of a report record of {@code n} report bytes and no chain id: length, CRC, type, id, seq, chain length. */
    private static int recordBytes(int n) {
        return 8 + 9 + 9 + n;
    }
    /** Bytes of the magic and the owner record at the head of every journal. */
    private static final int HEAD = 8 + 8 + 9 + OWNER.length();

    @TempDir
    Path dir;

    private static byte[] report(long seq, int size) {
        byte[] b = new byte[size];
        new Random(seq).nextBytes(b);
        return b;
    }

    @Test
    void pendingReportsSurviveReopenInSeqOrder() {
        Path file = dir.resolve("outbox.journal");
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            for (long seq = 1; seq <= 5; seq++) {
                j.append(seq, report(seq, 300));
            }
            j.acknowledge(2);
            j.acknowledge(4);
        }
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            List<OutboxJournal.Entry> pending = j.pending();
            assertEquals(
                    List.of(1L, 3L, 5L),
                    pending.stream().map(OutboxJournal.Entry::seq).toList());
            assertArrayEquals(report(3, 300), pending.get(1).report());
        }
    }

    /**
     * An outage's backlog is not held on the heap: beyond {@link OutboxJournal#HEAP_CACHE_BYTES}
     * the reports are read back from the file. Proven by changing a byte of a late report's record
     * on disk under the open journal: the read-back sees it (its CRC fails), so that report is
     * declared lost and not sent; every other report reads back exactly, before and after a
     * compaction moves the records.
     */
    @Test
    void aBacklogBeyondTheHeapCacheIsReadBackFromTheFileAndChecked() throws IOException {
        Path file = dir.resolve("outbox.journal");
        int size = 2100;
        int n = (int) (4 * OutboxJournal.HEAP_CACHE_BYTES / size);
        try (OutboxJournal j =
                OutboxJournal.open(file, 1 << 20, OWNER, new OutboxJournal.Tuning(64 * 1024, OutboxJournal.PAGE))) {
            long victimId = 0;
            for (long seq = 1; seq <= n; seq++) {
                long id = j.append(seq, report(seq, size));
                if (seq == n - 1) {
                    victimId = id;
                }
            }
            assertEquals(n, j.pendingCount());
            // The victim's record: find its report bytes in the file and flip one.
            byte[] all = Files.readAllBytes(file);
            int at = indexOf(all, report(n - 1, size));
            assertTrue(at > 0, "the report's bytes are in the file");
            try (var ch = java.nio.channels.FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(new byte[] {(byte) ~all[at + 100]}), at + 100);
            }
            List<OutboxJournal.Entry> pending = j.pending();
            assertEquals(n - 1, pending.size(), "the changed record is not sent");
            for (OutboxJournal.Entry e : pending) {
                assertArrayEquals(report(e.seq(), size), e.report(), "seq " + e.seq());
            }
            assertEquals(new OutboxJournal.Losses(1, n - 1, n - 1), j.losses());
            long victim = victimId;
            assertTrue(j.pending().stream().noneMatch(e -> e.id() == victim), "and stays out");
            // Deliver most of them: compaction rewrites the rest at new offsets, read back from there.
            for (OutboxJournal.Entry e : pending.subList(0, pending.size() - 3)) {
                j.acknowledge(e.id());
            }
            List<OutboxJournal.Entry> rest = j.pending();
            assertEquals(
                    List.of((long) n - 3, (long) n - 2, (long) n),
                    rest.stream().map(OutboxJournal.Entry::seq).toList());
            for (OutboxJournal.Entry e : rest) {
                assertArrayEquals(report(e.seq(), size), e.report(), "seq " + e.seq());
            }
            assertTrue(Files.size(file) < 64 * 1024, "compacted: " + Files.size(file));
        }
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            assertEquals(
                    List.of((long) n - 3, (long) n - 2, (long) n),
                    j.pending().stream().map(OutboxJournal.Entry::seq).toList());
            assertEquals(1, j.losses().count());
        }
    }

    /**
     * A long outage, the outbox at its bound: every append drops the oldest report and none is
     * delivered. The file stays within a few times the bound (compaction runs on drops too), and
     * the newest reports are all there after reopening.
     */
    @Test
    void aFullOutboxThatIsNeverDeliveredStaysWithinAFewTimesItsBoundOnDisk() throws IOException {
        Path file = dir.resolve("outbox.journal");
        long bound = 64 * 1024;
        int size = 1000;
        int n = 2000;
        try (OutboxJournal j =
                OutboxJournal.open(file, bound, OWNER, new OutboxJournal.Tuning(64 * 1024, OutboxJournal.PAGE))) {
            long largest = 0;
            for (long seq = 1; seq <= n; seq++) {
                j.append(seq, report(seq, size));
                largest = Math.max(largest, Files.size(file));
            }
            System.out.printf(
                    "full outbox, never delivered: %d appends of %d bytes, bound %d: largest file %d bytes (%d report bytes appended)%n",
                    n, size, bound, largest, (long) n * size);
            assertTrue(largest < 6 * bound, "largest file " + largest);
            assertEquals(n - j.pendingCount(), j.losses().count());
        }
        try (OutboxJournal j = OutboxJournal.open(file, bound, OWNER)) {
            List<OutboxJournal.Entry> pending = j.pending();
            assertEquals(n, pending.get(pending.size() - 1).seq());
            assertEquals(n - pending.size(), j.losses().count());
            for (OutboxJournal.Entry e : pending) {
                assertArrayEquals(report(e.seq(), size), e.report(), "seq " + e.seq());
            }
        }
    }

    @Test
    void tornTailIsCutAndEarlierReportsKept() throws IOException {
        Path file = dir.resolve("outbox.journal");
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            j.append(1, report(1, 200));
            j.append(2, report(2, 200));
        }
        // A power cut in the middle of writing record 2: its last 50 bytes never reached the card,
        // where the preallocated space reads as zeros.
        byte[] bytes = Files.readAllBytes(file);
        int end = indexOf(bytes, report(2, 200)) + 200;
        java.util.Arrays.fill(bytes, end - 50, end, (byte) 0);
        Files.write(file, bytes);
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            assertEquals(
                    List.of(1L),
                    j.pending().stream().map(OutboxJournal.Entry::seq).toList());
            assertEquals(recordBytes(200) - 50, j.recoveredTailBytes(), "the partial record 2 is cut");
            j.append(3, report(3, 200));
        }
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            assertEquals(
                    List.of(1L, 3L),
                    j.pending().stream().map(OutboxJournal.Entry::seq).toList());
            assertEquals(0, j.recoveredTailBytes());
        }
    }

    @Test
    void theHeadOfTheBacklogComesInSeqOrderWithoutTheRest() throws Exception {
        try (OutboxJournal j = OutboxJournal.open(dir.resolve("head.journal"), 1 << 20, OWNER)) {
            for (long seq = 1; seq <= 50; seq++) {
                j.append(seq, report((int) seq, 40));
            }
            j.acknowledge(2);
            assertEquals(
                    List.of(1L, 3L, 4L),
                    j.pending(3).stream().map(OutboxJournal.Entry::seq).toList());
            assertEquals(49, j.pending(1000).size());
            assertEquals(List.of(), j.pending(0));
        }
    }

    @Test
    void aDamagedRecordInTheMiddleIsSkippedItsReportDeclaredLostAndTheRestKept() throws IOException {
        Path file = dir.resolve("outbox.journal");
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            j.append(1, report(1, 100));
            j.append(2, report(2, 100));
            j.append(3, report(3, 100));
        }
        byte[] bytes = Files.readAllBytes(file);
        int second = HEAD + recordBytes(100);
        bytes[second + recordBytes(100) - 10] ^= 0x40; // a flipped bit inside record 2's report bytes
        Files.write(file, bytes);
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            assertEquals(
                    List.of(1L, 3L),
                    j.pending().stream().map(OutboxJournal.Entry::seq).toList());
            assertEquals(recordBytes(100), j.damagedBytes());
            assertEquals(new OutboxJournal.Losses(1, 2, 2), j.losses(), "report 2 is declared lost");
        }
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            assertEquals(0, j.damagedBytes(), "the damaged bytes were rewritten away");
            assertEquals(new OutboxJournal.Losses(1, 2, 2), j.losses(), "the loss is remembered");
            assertEquals(
                    List.of(1L, 3L),
                    j.pending().stream().map(OutboxJournal.Entry::seq).toList());
        }
    }

    @Test
    void aJournalOfAnotherDeviceIsSetAsideAndNoneOfItsReportsIsPending() throws IOException {
        Path file = dir.resolve("outbox.journal");
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, "potherdevice")) {
            j.append(1, report(1, 100));
        }
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            assertEquals(0, j.pendingCount());
            assertTrue(j.setAside().isPresent());
            assertTrue(j.setAside().get().getFileName().toString().startsWith("outbox.journal.foreign-potherdevice-"));
            assertTrue(Files.exists(j.setAside().get()), "set aside, not deleted");
        }
    }

    @Test
    void reportsOfTwoChainsWithTheSameSeqsStayPendingInAppendOrder() {
        Path file = dir.resolve("outbox.journal");
        byte[] oldChain = new byte[16];
        byte[] newChain = new byte[16];
        newChain[0] = 1;
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            j.append(7, oldChain, report(70, 50));
            j.append(8, oldChain, report(80, 50));
            j.append(1, newChain, report(10, 50));
        }
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            assertEquals(
                    List.of(7L, 8L, 1L),
                    j.pending().stream().map(OutboxJournal.Entry::seq).toList());
            assertArrayEquals(newChain, j.lastAppended().orElseThrow().chain().orElseThrow());
            assertEquals(java.util.Optional.of(1L), j.firstPendingSeq(newChain));
            assertEquals(java.util.Optional.of(7L), j.firstPendingSeq(oldChain));
        }
    }

    @Test
    void aJournalOfTheFirstFormatIsReadAndRewritten() throws IOException {
        Path file = dir.resolve("outbox.journal");
        // PXOUTBX1: records keyed by seq, body = u8 type | u64 seq | report.
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.writeBytes("PXOUTBX1".getBytes(StandardCharsets.US_ASCII));
        for (long seq = 4; seq <= 5; seq++) {
            byte[] r = report(seq, 60);
            java.nio.ByteBuffer body = java.nio.ByteBuffer.allocate(9 + r.length)
                    .put((byte) 1)
                    .putLong(seq)
                    .put(r);
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(body.array());
            out.writeBytes(java.nio.ByteBuffer.allocate(8)
                    .putInt(body.capacity())
                    .putInt((int) crc.getValue())
                    .array());
            out.writeBytes(body.array());
        }
        Files.write(file, out.toByteArray());
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            assertEquals(
                    List.of(4L, 5L),
                    j.pending().stream().map(OutboxJournal.Entry::seq).toList());
            long id = j.append(6, report(6, 60));
            assertTrue(id > 5, "new ids follow the old ones");
        }
        assertEquals("PXOUTBX3", new String(Files.readAllBytes(file), 0, 8, StandardCharsets.US_ASCII));
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            assertEquals(
                    List.of(4L, 5L, 6L),
                    j.pending().stream().map(OutboxJournal.Entry::seq).toList());
            assertArrayEquals(report(5, 60), j.pending().get(1).report());
        }
    }

    @Test
    void garbageAppendedAfterAPowerCutIsCut() throws IOException {
        Path file = dir.resolve("outbox.journal");
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            j.append(7, report(7, 64));
        }
        // Garbage where the next record would have gone, in the preallocated space.
        try (var ch = java.nio.channels.FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(
                    java.nio.ByteBuffer.wrap(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f, 1, 2, 3}),
                    HEAD + recordBytes(64));
        }
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            assertEquals(
                    List.of(7L),
                    j.pending().stream().map(OutboxJournal.Entry::seq).toList());
            assertEquals(7, j.recoveredTailBytes());
        }
    }

    @Test
    void aFileThatIsNotAJournalIsSetAsideNotDeleted() throws IOException {
        Path file = dir.resolve("outbox.journal");
        Files.writeString(file, "this is not a journal at all");
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            assertEquals(0, j.pendingCount());
        }
        try (var files = Files.list(dir)) {
            assertTrue(files.anyMatch(p -> p.getFileName().toString().startsWith("outbox.journal.unreadable-")));
        }
    }

    @Test
    void whenFullTheOldestAreDroppedCountedAndRemembered() {
        Path file = dir.resolve("outbox.journal");
        try (OutboxJournal j = OutboxJournal.open(file, 4096, OWNER)) {
            for (long seq = 1; seq <= 10; seq++) {
                j.append(seq, report(seq, 1000));
            }
            assertEquals(
                    List.of(7L, 8L, 9L, 10L),
                    j.pending().stream().map(OutboxJournal.Entry::seq).toList());
            assertEquals(new OutboxJournal.Losses(6, 1, 6), j.losses());
        }
        try (OutboxJournal j = OutboxJournal.open(file, 4096, OWNER)) {
            assertEquals(new OutboxJournal.Losses(6, 1, 6), j.losses());
            assertEquals(4, j.pendingCount());
        }
    }

    @Test
    void compactionKeepsPendingReportsAndLossTotals() {
        Path file = dir.resolve("outbox.journal");
        long seq = 1;
        try (OutboxJournal j = OutboxJournal.open(file, 8 * 1024, OWNER)) {
            // Fill past the bound once so there is a loss to carry through compaction.
            for (; seq <= 20; seq++) {
                j.append(seq, report(seq, 1000));
            }
            OutboxJournal.Losses losses = j.losses();
            assertTrue(losses.count() > 0);
            for (long id : j.pending().stream().map(OutboxJournal.Entry::id).toList()) {
                j.acknowledge(id);
            }
            // Steady state: append and acknowledge until the file has compacted several times.
            for (; seq <= 2000; seq++) {
                j.append(seq, report(seq, 500));
                if (seq % 3 != 0) {
                    j.acknowledge(seq);
                }
                if (seq % 3 == 0 && seq > 6) {
                    j.acknowledge(seq - 3);
                }
            }
            assertTrue(Files.exists(file));
            assertEquals(losses.count(), j.losses().count());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        try (OutboxJournal j = OutboxJournal.open(file, 8 * 1024, OWNER)) {
            assertEquals(
                    List.of(1998L),
                    j.pending().stream().map(OutboxJournal.Entry::seq).toList());
            assertArrayEquals(report(1998, 500), j.pending().get(0).report());
            assertTrue(j.losses().count() > 0);
        }
    }

    @Test
    void bytesWrittenPerAcknowledgedReportStayUnderTwiceItsSize() {
        Path file = dir.resolve("outbox.journal");
        int size = 450;
        int reports = 5000;
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            long before = j.bytesWritten();
            for (long seq = 1; seq <= reports; seq++) {
                j.append(seq, report(seq, size));
                // A backlog of up to 30 reports, as while the broker is briefly away.
                if (seq > 30) {
                    j.acknowledge(seq - 30);
                }
            }
            double perReport = (j.bytesWritten() - before) / (double) reports;
            assertTrue(perReport <= 2.0 * size, "wrote " + perReport + " bytes per report of " + size);
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("report not found in the journal");
    }

    @Test
    void theFileIsPreallocatedInStepsAndItsZerosAreTheEndNotDamage() throws IOException {
        Path file = dir.resolve("outbox.journal");
        var tuning = new OutboxJournal.Tuning(1 << 20, 64 * 1024);
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER, tuning)) {
            for (long seq = 1; seq <= 3; seq++) {
                j.append(seq, report(seq, 500));
            }
            assertEquals(64 * 1024, Files.size(file), "one step ahead of the records");
            for (long seq = 4; seq <= 40; seq++) {
                j.append(seq, report(seq, 2000));
            }
            assertEquals(0, Files.size(file) % (64 * 1024), "grown by whole steps");
        }
        long size = Files.size(file);
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER, tuning)) {
            assertEquals(40, j.pendingCount());
            assertEquals(0, j.recoveredTailBytes(), "the zeros after the last record are no torn tail");
            assertEquals(0, j.damagedBytes(), "nor damage");
            assertEquals(OutboxJournal.Losses.NONE.count(), j.losses().count());
            assertEquals(size, Files.size(file), "the preallocated space is kept");
            j.append(41, report(41, 2000));
        }
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER, tuning)) {
            assertEquals(
                    java.util.stream.LongStream.rangeClosed(1, 41).boxed().toList(),
                    j.pending().stream().map(OutboxJournal.Entry::seq).toList());
            assertArrayEquals(report(41, 2000), j.pending().get(40).report());
        }
    }

    @Test
    void aReportThatWouldStraddleTwoPagesStartsOnTheNextAndPaddingIsNoDamage() throws IOException {
        Path file = dir.resolve("outbox.journal");
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            for (long seq = 1; seq <= 6; seq++) {
                j.append(seq, report(seq, 2100));
            }
            j.acknowledge(1); // a delivery record on the page the next report goes to
            j.append(7, report(7, 2100));
        }
        byte[] bytes = Files.readAllBytes(file);
        for (long seq = 2; seq <= 7; seq++) {
            int at = indexOf(bytes, report(seq, 2100)) - recordBytes(0);
            assertTrue(
                    at % OutboxJournal.PAGE == 0 || seq == 7,
                    "report " + seq + " starts on a page boundary, not at " + at);
        }
        assertTrue(
                indexOf(bytes, report(7, 2100)) / OutboxJournal.PAGE == 6,
                "report 7 shares its page with the delivery record written before it");
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            assertEquals(
                    List.of(2L, 3L, 4L, 5L, 6L, 7L),
                    j.pending().stream().map(OutboxJournal.Entry::seq).toList());
            assertEquals(0, j.damagedBytes());
            assertEquals(0, j.losses().count());
        }
    }

    @Test
    void aReportMissingFromAPaddedPageIsDeclaredLost() throws IOException {
        Path file = dir.resolve("outbox.journal");
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            for (long seq = 1; seq <= 3; seq++) {
                j.append(seq, report(seq, 2100));
            }
        }
        // Report 2's record zeroed whole, from its start to its page's end: looks like padding.
        byte[] bytes = Files.readAllBytes(file);
        int start = indexOf(bytes, report(2, 2100)) - recordBytes(0);
        java.util.Arrays.fill(bytes, start, start + OutboxJournal.PAGE, (byte) 0);
        Files.write(file, bytes);
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            assertEquals(
                    List.of(1L, 3L),
                    j.pending().stream().map(OutboxJournal.Entry::seq).toList());
            assertEquals(new OutboxJournal.Losses(1, 2, 2), j.losses(), "the jump in seq is declared");
        }
    }

    @Test
    void aJournalOfTheSecondFormatIsReadAndRewritten() throws IOException {
        Path file = dir.resolve("outbox.journal");
        byte[] chain = new byte[16];
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.writeBytes("PXOUTBX2".getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(v2Record((byte) 7, 3, OWNER.getBytes(StandardCharsets.US_ASCII)));
        for (long id = 1; id <= 2; id++) {
            byte[] r = report(id, 300);
            out.writeBytes(v2Record(
                    (byte) 6,
                    id,
                    java.nio.ByteBuffer.allocate(9 + 16 + r.length)
                            .putLong(id + 10)
                            .put((byte) 16)
                            .put(chain)
                            .put(r)
                            .array()));
        }
        out.writeBytes(v2Record((byte) 2, 1, new byte[0]));
        Files.write(file, out.toByteArray());
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            assertEquals(
                    List.of(12L),
                    j.pending().stream().map(OutboxJournal.Entry::seq).toList());
            assertEquals(12, j.lastAppended().orElseThrow().seq());
            assertEquals(0, j.damagedBytes());
        }
        assertEquals("PXOUTBX3", new String(Files.readAllBytes(file), 0, 8, StandardCharsets.US_ASCII));
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER)) {
            assertEquals(
                    List.of(12L),
                    j.pending().stream().map(OutboxJournal.Entry::seq).toList());
            assertArrayEquals(report(2, 300), j.pending().get(0).report());
            assertTrue(j.append(13, chain, report(3, 300)) >= 3, "new ids follow the old ones");
        }
    }

    private static byte[] v2Record(byte type, long a, byte[] data) {
        java.nio.ByteBuffer body = java.nio.ByteBuffer.allocate(9 + data.length)
                .put(type)
                .putLong(a)
                .put(data);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(body.array());
        return java.nio.ByteBuffer.allocate(8 + body.capacity())
                .putInt(body.capacity())
                .putInt((int) crc.getValue())
                .put(body.array())
                .array();
    }

    @Test
    void theNewestCheckpointSurvivesReopenAndCompaction() throws IOException {
        Path file = dir.resolve("outbox.journal");
        byte[] chain = new byte[16];
        chain[0] = 5;
        var tuning = new OutboxJournal.Tuning(16 * 1024, 16 * 1024);
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER, tuning)) {
            j.append(1, chain, report(1, 1000));
            j.noteCheckpoint(chain, 1);
            assertEquals(java.util.OptionalLong.of(1), j.checkpointed(chain));
            assertEquals(java.util.OptionalLong.empty(), j.checkpointed(new byte[16]), "another chain");
        }
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER, tuning)) {
            assertEquals(java.util.OptionalLong.of(1), j.checkpointed(chain));
            for (long seq = 2; seq <= 60; seq++) {
                long id = j.append(seq, chain, report(seq, 1000));
                if (seq == 30) {
                    j.noteCheckpoint(chain, 30);
                }
                j.acknowledge(id - 1);
            }
            assertTrue(Files.size(file) < 60 * 1000, "compacted");
        }
        try (OutboxJournal j = OutboxJournal.open(file, 1 << 20, OWNER, tuning)) {
            assertEquals(java.util.OptionalLong.of(30), j.checkpointed(chain));
            assertEquals(60, j.lastAppended().orElseThrow().seq());
            assertEquals(
                    List.of(60L),
                    j.pending().stream().map(OutboxJournal.Entry::seq).toList());
        }
    }
}
