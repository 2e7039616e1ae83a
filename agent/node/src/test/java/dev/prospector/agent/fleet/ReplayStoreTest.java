package dev.prospector.agent.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplayStoreTest {
    private static final Duration SKEW = Duration.ofMinutes(2);
    private static final byte[] KID = new byte[16];

    @TempDir
    Path dir;

    private static byte[] nonce(int n) {
        byte[] b = new byte[16];
        b[0] = (byte) n;
        b[1] = (byte) (n >> 8);
        return b;
    }

    @Test
    void aNonceIsRefusedTheSecondTimeAlsoAfterReopening() {
        Instant now = Instant.parse("2026-12-01T12:00:00Z");
        var store = ReplayStore.open(dir, SKEW, now);
        assertNull(store.record(KID, nonce(1), now, now.plusSeconds(60), now));
        String again = store.record(KID, nonce(1), now, now.plusSeconds(60), now);
        assertNotNull(again);
        assertTrue(again.startsWith("nonce already used"), again);
        var reopened = ReplayStore.open(dir, SKEW, now.plusSeconds(1));
        assertFalse(reopened.recoveredFromDamage());
        assertTrue(reopened.record(KID, nonce(1), now, now.plusSeconds(60), now.plusSeconds(1))
                .startsWith("nonce already used"));
        assertNull(reopened.record(KID, nonce(2), now, now.plusSeconds(60), now.plusSeconds(1)));
    }

    @Test
    void everyDamageFailsSafe() throws Exception {
        Instant now = Instant.parse("2026-12-01T12:00:00Z");
        var store = ReplayStore.open(dir, SKEW, now);
        assertNull(store.record(KID, nonce(1), now, now.plusSeconds(3600), now));
        byte[] good = Files.readAllBytes(dir.resolve(ReplayStore.FILE));
        byte[][] damaged = {
            new byte[0],
            java.util.Arrays.copyOf(good, good.length - 1),
            flip(good, 10),
            flip(good, good.length - 1),
            "garbage".getBytes(java.nio.charset.StandardCharsets.US_ASCII)
        };
        for (byte[] d : damaged) {
            Files.write(dir.resolve(ReplayStore.FILE), d);
            Instant later = now.plusSeconds(10);
            var reopened = ReplayStore.open(dir, SKEW, later);
            assertTrue(reopened.recoveredFromDamage(), "damage of " + d.length + " bytes noticed");
            // The command that ran before the damage is refused: it was issued before the floor.
            String r = reopened.record(KID, nonce(1), now, now.plusSeconds(3600), later);
            assertNotNull(r, "the earlier command is not run again after damage");
            assertTrue(r.contains("damaged"), r);
            // So is one issued up to the skew allowance after the damage was found.
            assertNotNull(
                    reopened.record(KID, nonce(3), later.plus(SKEW).minusSeconds(1), later.plusSeconds(3600), later));
            // A command issued after the floor runs; the floor survives another restart.
            assertNull(reopened.record(KID, nonce(4), later.plus(SKEW), later.plusSeconds(3600), later.plus(SKEW)));
            var third = ReplayStore.open(dir, SKEW, later.plus(SKEW));
            assertFalse(third.recoveredFromDamage());
            assertEquals(later.plus(SKEW), third.floor());
            assertNotNull(third.record(KID, nonce(1), now, now.plusSeconds(3600), later.plus(SKEW)));
            // Start the next round from the good file again.
            Files.write(dir.resolve(ReplayStore.FILE), good);
        }
    }

    @Test
    void expiredNoncesAreForgottenAndAFullStoreRefuses() {
        Instant now = Instant.parse("2026-12-01T12:00:00Z");
        var store = ReplayStore.open(dir, SKEW, now);
        for (int i = 0; i < ReplayStore.MAX_ENTRIES; i++) {
            assertNull(store.record(KID, nonce(i), now, now.plusSeconds(60), now));
        }
        String full = store.record(KID, nonce(70_000), now, now.plusSeconds(60), now);
        assertNotNull(full);
        assertTrue(full.contains("full"), full);
        Instant later = now.plusSeconds(60).plus(SKEW).plusSeconds(1);
        assertNull(store.record(KID, nonce(70_000), later, later.plusSeconds(60), later));
        assertEquals(1, store.size(), "expired nonces dropped");
    }

    private static byte[] flip(byte[] b, int i) {
        byte[] c = b.clone();
        c[i] ^= 1;
        return c;
    }
}
