package dev.prospector.agent.pos;

import dev.prospector.attest.Plot;
import dev.prospector.attest.Sha256;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * What a board uploads in a bandwidth test: a 64 KiB block derived from the challenge,
 * {@code SHA-256("prospector up v1" || nonce || j)} for {@code j = 0 .. 2047} (j a big-endian u64)
 * concatenated, repeated and cut at {@code length} bytes.
 *
 * <p>The endpoint counts bytes and time and does not check the content, so the stream only has to
 * be incompressible enough that nothing on the way shrinks it, and cheap: the first version hashed
 * every 32 bytes as it went, which capped a board's upload at its SHA-256 speed (48 MB/s on this
 * machine with the board's C1-only JVM, below a Pi 5's gigabit link; docs/BENCHMARKS.md). Now the
 * hashing is 2048 digests once per test and the rest is array copies.
 */
public final class UpStream extends InputStream {
    private static final byte[] DOMAIN = "prospector up v1".getBytes(StandardCharsets.US_ASCII);
    /** Bytes of the repeated block. */
    static final int BLOCK = 64 * 1024;

    private final byte[] block = new byte[BLOCK];
    private final long length;
    private long position;

    public UpStream(byte[] nonce, long length) {
        this.length = length;
        MessageDigest md = Sha256.newDigest();
        try {
            for (int j = 0; j < BLOCK / Plot.CHUNK; j++) {
                md.reset();
                md.update(DOMAIN);
                md.update(nonce);
                for (int s = 56; s >= 0; s -= 8) {
                    md.update((byte) ((long) j >>> s));
                }
                md.digest(block, j * Plot.CHUNK, Plot.CHUNK);
            }
        } catch (java.security.DigestException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public int read() {
        if (position >= length) {
            return -1;
        }
        return block[(int) (position++ % BLOCK)] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) {
        if (position >= length) {
            return -1;
        }
        int n = (int) Math.min(len, length - position);
        int done = 0;
        while (done < n) {
            int at = (int) (position % BLOCK);
            int step = Math.min(n - done, BLOCK - at);
            System.arraycopy(block, at, b, off + done, step);
            done += step;
            position += step;
        }
        return n;
    }
}
