package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class Sha256Test {
    private static final byte[] ABC = "abc".getBytes(StandardCharsets.US_ASCII);

    @Test
    void hashesTheFips180TestMessages() {
        assertEquals(
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Hex.encode(Sha256.of(new byte[0])));
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Hex.encode(Sha256.of(ABC)));
    }

    @Test
    void aRangeHashesLikeTheSameBytesOnTheirOwn() {
        byte[] framed = "xxabcyy".getBytes(StandardCharsets.US_ASCII);
        assertArrayEquals(Sha256.of(ABC), Sha256.of(framed, 2, 3));
    }

    @Test
    void aRangeOutsideTheArrayIsRefusedAndLeavesNothingForTheNextHash() {
        assertThrows(IllegalArgumentException.class, () -> Sha256.of(ABC, 2, 5));
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Hex.encode(Sha256.of(ABC)));
    }

    @Test
    void threadsHashingAtOnceEachGetTheirOwnAnswer() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            var results = new ArrayList<Future<Boolean>>();
            for (int t = 0; t < 4; t++) {
                byte[] data = new byte[2048];
                Arrays.fill(data, (byte) t);
                byte[] expected = Sha256.of(data);
                results.add(pool.submit(() -> {
                    for (int i = 0; i < 2_000; i++) {
                        if (!Arrays.equals(expected, Sha256.of(data))) {
                            return false;
                        }
                    }
                    return true;
                }));
            }
            for (var r : results) {
                assertTrue(r.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
