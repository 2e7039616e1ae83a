package dev.prospector.ledger;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Append-only log of the blocks this node validated, one record per block:
 * {@code "PLBR" | length u32 | CRC32C u32 | block bytes}. A record is forced to the device before
 * the node attests the block, so an attested block is never lost. A kill or power cut can leave
 * only a torn last record; {@link #open} finds the end of the last whole record and truncates the
 * rest, so the log is always a clean prefix of the chain.
 */
final class BlockLog implements AutoCloseable {
    private static final int RECORD_MAGIC = 0x504C4252;
    private static final int RECORD_HEADER = 12;

    private final FileChannel channel;
    private long end;

    private BlockLog(FileChannel channel, long end) {
        this.channel = channel;
        this.end = end;
    }

    /**
     * Visitor of the whole records from an offset. Returns null to accept a record, or why the
     * chain rejects it: a whole record (its CRC matches) that does not apply is not a crash
     * artefact but a log of another chain, and recovery refuses it rather than truncating it.
     */
    @FunctionalInterface
    interface RecordVisitor {
        String accept(byte[] block, long endOffset);
    }

    /**
     * Opens the log, hands every whole record from {@code from} to the visitor, and truncates a
     * torn or corrupt tail (the only thing kill -9 or a power cut can leave).
     */
    static BlockLog open(Path file, long from, RecordVisitor visitor) throws IOException {
        FileChannel ch =
                FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        long size = ch.size();
        if (from > size) {
            ch.close();
            throw new IOException("block log " + file + " is shorter (" + size + " bytes) than the snapshot says ("
                    + from + "); it was truncated by something else: move the data directory aside to resync");
        }
        long pos = from;
        ByteBuffer header = ByteBuffer.allocate(RECORD_HEADER);
        while (pos + RECORD_HEADER <= size) {
            header.clear();
            readFully(ch, header, pos);
            int magic = header.getInt(0);
            int len = header.getInt(4);
            if (magic != RECORD_MAGIC
                    || len < 0
                    || len > BlockHeader.blockSize(BlockHeader.MAX_TXS)
                    || pos + RECORD_HEADER + len > size) {
                break;
            }
            ByteBuffer body = ByteBuffer.allocate(len);
            readFully(ch, body, pos + RECORD_HEADER);
            CRC32C crc = new CRC32C();
            crc.update(body.array());
            if ((int) crc.getValue() != header.getInt(8)) {
                break;
            }
            String rejected = visitor.accept(body.array(), pos + RECORD_HEADER + len);
            if (rejected != null) {
                ch.close();
                throw new IOException(
                        "block log " + file + " holds at offset " + pos + " a whole block this chain rejects ("
                                + rejected + "); the data directory belongs to another chain: move it aside to resync");
            }
            pos += RECORD_HEADER + len;
        }
        if (pos < size) {
            ch.truncate(pos);
            ch.force(true);
        }
        return new BlockLog(ch, pos);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            if (ch.read(buf, pos + buf.position()) < 0) {
                throw new IOException("unexpected end of block log");
            }
        }
    }

    /** Appends one block and forces it to the device; returns the offset after it. */
    long append(byte[] block) throws IOException {
        ByteBuffer rec = ByteBuffer.allocate(RECORD_HEADER + block.length);
        CRC32C crc = new CRC32C();
        crc.update(block);
        rec.putInt(RECORD_MAGIC)
                .putInt(block.length)
                .putInt((int) crc.getValue())
                .put(block)
                .flip();
        while (rec.hasRemaining()) {
            channel.write(rec, end + rec.position());
        }
        channel.force(false);
        end += RECORD_HEADER + block.length;
        return end;
    }

    long end() {
        return end;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
