package dev.prospector.agent.pos;

import dev.prospector.attest.Plot;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * What a board uploads in a bandwidth test: {@code SHA-256("prospector up v1" || nonce || j)} for
 * {@code j = 0, 1, ...} (j a big-endian u64), concatenated and cut at {@code length} bytes. Derived
 * from the challenge so that an endpoint can check what it received, made as it is read.
 */
public final class UpStream extends InputStream {
    private static final byte[] DOMAIN = "prospector up v1".getBytes(StandardCharsets.US_ASCII);

    private final byte[] nonce;
    private final long length;
    private final MessageDigest md = Plot.sha256();
    private final byte[] chunk = new byte[Plot.CHUNK];
    private long position;
    private long counter;
    private int inChunk = Plot.CHUNK;

    public UpStream(byte[] nonce, long length) {
        this.nonce = nonce.clone();
        this.length = length;
    }

    @Override
    public int read() {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) {
        if (position >= length) {
            return -1;
        }
        int n = (int) Math.min(len, length - position);
        for (int i = 0; i < n; i++) {
            if (inChunk == Plot.CHUNK) {
                next();
            }
            b[off + i] = chunk[inChunk++];
        }
        position += n;
        return n;
    }

    private void next() {
        md.reset();
        md.update(DOMAIN);
        md.update(nonce);
        for (int s = 56; s >= 0; s -= 8) {
            md.update((byte) (counter >>> s));
        }
        counter++;
        try {
            md.digest(chunk, 0, Plot.CHUNK);
        } catch (java.security.DigestException e) {
            throw new IllegalStateException(e);
        }
        inChunk = 0;
    }
}
