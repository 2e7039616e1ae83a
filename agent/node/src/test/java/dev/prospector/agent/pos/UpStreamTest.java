package dev.prospector.agent.pos;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.prospector.attest.Sha256;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class UpStreamTest {
    private static byte[] hash(byte[] nonce, long j) {
        var md = Sha256.newDigest();
        md.update("prospector up v1".getBytes(StandardCharsets.US_ASCII));
        md.update(nonce);
        for (int s = 56; s >= 0; s -= 8) {
            md.update((byte) (j >>> s));
        }
        return md.digest();
    }

    @Test
    void itIsTheChallengesBlockRepeatedAndCutAtTheLength() throws Exception {
        byte[] nonce = {1, 2, 3};
        long length = 2L * UpStream.BLOCK + 1000;
        var out = new ByteArrayOutputStream();
        try (var in = new UpStream(nonce, length)) {
            byte[] buf = new byte[7777]; // a size that straddles the block's end
            for (int n; (n = in.read(buf, 0, buf.length)) > 0; ) {
                out.write(buf, 0, n);
            }
        }
        byte[] all = out.toByteArray();
        assertEquals(length, all.length);
        assertArrayEquals(hash(nonce, 0), Arrays.copyOfRange(all, 0, 32));
        assertArrayEquals(hash(nonce, 2047), Arrays.copyOfRange(all, UpStream.BLOCK - 32, UpStream.BLOCK));
        assertArrayEquals(
                Arrays.copyOfRange(all, 0, UpStream.BLOCK),
                Arrays.copyOfRange(all, UpStream.BLOCK, 2 * UpStream.BLOCK));
        assertArrayEquals(Arrays.copyOfRange(all, 0, 1000), Arrays.copyOfRange(all, 2 * UpStream.BLOCK, all.length));
        assertFalse(Arrays.equals(
                Arrays.copyOfRange(all, 0, 64),
                Arrays.copyOfRange(new UpStream(new byte[] {9}, 64).readAllBytes(), 0, 64)));
    }

    @Test
    void singleByteReadsGiveTheSameBytes() throws Exception {
        byte[] nonce = {4};
        byte[] bulk = new UpStream(nonce, 100).readAllBytes();
        try (var in = new UpStream(nonce, 100)) {
            for (int i = 0; i < 100; i++) {
                assertEquals(bulk[i] & 0xff, in.read());
            }
            assertEquals(-1, in.read());
        }
    }
}
