package dev.prospector.ledger;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/**
 * A genesis and the blocks after it, as {@code ledger gen} writes and {@code ledger validate}
 * reads: {@code "PLF1" | genesis | (block length u32 | block)*}. Read as a stream, so a
 * 1,000,000-account file never sits in memory twice.
 */
public final class BlockFile {
    private static final byte[] MAGIC = "PLF1".getBytes(StandardCharsets.US_ASCII);

    private BlockFile() {}

    /** Writes a block file: the genesis first, then blocks as they are appended. */
    public static final class Writer implements AutoCloseable {
        private final DataOutputStream out;

        public Writer(Path file, Genesis genesis) throws IOException {
            OutputStream os = Files.newOutputStream(file);
            out = new DataOutputStream(new BufferedOutputStream(os, 1 << 16));
            out.write(MAGIC);
            genesis.write(out);
        }

        public void append(byte[] block) throws IOException {
            out.writeInt(block.length);
            out.write(block);
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    /** Reads a block file: the genesis on opening, then one block per {@link #next()}. */
    public static final class Reader implements AutoCloseable {
        private final DataInputStream in;
        private final Genesis genesis;

        public Reader(Path file) throws IOException, MalformedException {
            InputStream is = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
            in = new DataInputStream(is);
            try {
                byte[] magic = in.readNBytes(4);
                if (!Arrays.equals(magic, MAGIC)) {
                    throw new MalformedException("not a ledger block file (no PLF1 magic)");
                }
                genesis = Genesis.read(file, MAGIC.length);
                in.skipNBytes(genesis.encodedLength());
            } catch (IOException | MalformedException e) {
                in.close();
                throw e;
            }
        }

        public Genesis genesis() {
            return genesis;
        }

        /** The next block's bytes, or empty at the end of the file. */
        public Optional<byte[]> next() throws IOException, MalformedException {
            int len;
            try {
                len = in.readInt();
            } catch (EOFException e) {
                return Optional.empty();
            }
            if (len < 0 || len > BlockHeader.blockSize(BlockHeader.MAX_TXS)) {
                throw new MalformedException("block length " + Integer.toUnsignedString(len) + " is impossible");
            }
            byte[] b = new byte[len];
            try {
                in.readFully(b);
            } catch (EOFException e) {
                throw new MalformedException("the last block is truncated");
            }
            return Optional.of(b);
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
