package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RegistryAndChallengesTest {
    @TempDir
    Path dir;

    @Test
    void aRegistryFileListsDeviceIdsWithCommentsAndBlankLines() throws Exception {
        var a = DeviceKeys.generate().deviceId();
        var b = DeviceKeys.generate().deviceId();
        Path f = dir.resolve("devices.txt");
        Files.writeString(f, "# fleet alpha\n" + a + "   # kitchen pi\n\n  " + b + "\n");
        var registry = DeviceRegistry.load(f);
        assertEquals(2, registry.size());
        assertTrue(registry.allows(a));
        assertTrue(registry.allows(b));
        assertFalse(registry.allows(DeviceKeys.generate().deviceId()));
    }

    @Test
    void aBadRegistryLineIsNamedWithItsNumber() throws Exception {
        Path f = dir.resolve("devices.txt");
        Files.writeString(f, DeviceKeys.generate().deviceId() + "\nnot-a-device\n");
        var e = assertThrows(IllegalArgumentException.class, () -> DeviceRegistry.load(f));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    }

    @Test
    void aMissingRegistryFileSaysWhichPath() {
        var e = assertThrows(IllegalArgumentException.class, () -> DeviceRegistry.load(dir.resolve("nope.txt")));
        assertTrue(e.getMessage().contains("nope.txt"), e.getMessage());
    }

    @Test
    void aChallengeIsValidForItsDeviceUntilItExpires() {
        var clock = new MutableClock(Fixtures.NOW);
        var store = new ChallengeStore(clock, Duration.ofMinutes(10));
        var device = DeviceKeys.generate().deviceId();
        byte[] nonce = store.issue(device);
        assertEquals(ChallengeStore.NONCE_BYTES, nonce.length);
        assertEquals(ChallengeStore.Status.VALID, store.check(device, nonce));
        assertEquals(ChallengeStore.Status.UNKNOWN, store.check(DeviceKeys.generate().deviceId(), nonce));
        clock.advance(Duration.ofMinutes(10).plusMillis(1));
        assertEquals(ChallengeStore.Status.EXPIRED, store.check(device, nonce));
    }

    @Test
    void onlyTheLatestChallengesPerDeviceAreKept() {
        var store = new ChallengeStore(Fixtures.CLOCK, Duration.ofMinutes(10));
        var device = DeviceKeys.generate().deviceId();
        byte[] oldest = store.issue(device);
        for (int i = 0; i < ChallengeStore.KEPT_PER_DEVICE; i++) {
            store.issue(device);
        }
        assertEquals(ChallengeStore.Status.UNKNOWN, store.check(device, oldest));
    }

    @Test
    void aChallengeStoreNeedsAPositiveLifetime() {
        assertThrows(IllegalArgumentException.class, () -> new ChallengeStore(Fixtures.CLOCK, Duration.ZERO));
    }
}
