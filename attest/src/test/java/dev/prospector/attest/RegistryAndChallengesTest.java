package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
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
        assertEquals(
                ChallengeStore.Status.UNKNOWN, store.check(DeviceKeys.generate().deviceId(), nonce));
        clock.advance(Duration.ofMinutes(10).plusMillis(1));
        assertEquals(ChallengeStore.Status.EXPIRED, store.check(device, nonce));
    }

    @Test
    void aChallengeIsJudgedByTheReportsTimeSoAReportThatWaitedInTheOutboxStaysValid() {
        var clock = new MutableClock(Fixtures.NOW);
        var store = new ChallengeStore(clock, Duration.ofMinutes(10));
        var device = DeviceKeys.generate().deviceId();
        byte[] nonce = store.issue(device);
        Instant madeAt = Fixtures.NOW.plus(Duration.ofMinutes(3));
        clock.advance(Duration.ofHours(5)); // the report arrives hours later
        assertEquals(ChallengeStore.Status.VALID, store.check(device, nonce, madeAt));
        assertEquals(
                ChallengeStore.Status.EXPIRED, store.check(device, nonce, Fixtures.NOW.plus(Duration.ofMinutes(11))));
        assertEquals(
                ChallengeStore.Status.UNKNOWN,
                store.check(device, nonce, Fixtures.NOW.minus(Duration.ofMinutes(11))),
                "a report made long before the challenge cannot answer it");
    }

    @Test
    void aForgedOrAlteredNonceIsUnknown() {
        var store = new ChallengeStore(Fixtures.CLOCK, Duration.ofMinutes(10));
        var device = DeviceKeys.generate().deviceId();
        byte[] nonce = store.issue(device);
        for (int i = 0; i < nonce.length; i++) {
            byte[] altered = nonce.clone();
            altered[i] ^= 1;
            assertEquals(ChallengeStore.Status.UNKNOWN, store.check(device, altered), "byte " + i);
        }
        assertEquals(ChallengeStore.Status.UNKNOWN, store.check(device, java.util.Arrays.copyOf(nonce, 16)));
        assertEquals(
                ChallengeStore.Status.UNKNOWN,
                new ChallengeStore(Fixtures.CLOCK, Duration.ofMinutes(10)).check(device, nonce),
                "another verifier's secret");
    }

    @Test
    void theSecretSurvivesARestartAndIsKeptPrivate() throws Exception {
        Path file = dir.resolve("challenge.key");
        byte[] secret = ChallengeStore.secretIn(file);
        assertEquals(
                "rw-------",
                java.nio.file.attribute.PosixFilePermissions.toString(
                        java.nio.file.Files.getPosixFilePermissions(file)));
        var device = DeviceKeys.generate().deviceId();
        byte[] nonce = new ChallengeStore(Fixtures.CLOCK, Duration.ofMinutes(10), secret).issue(device);
        var restarted = new ChallengeStore(Fixtures.CLOCK, Duration.ofMinutes(10), ChallengeStore.secretIn(file));
        assertEquals(ChallengeStore.Status.VALID, restarted.check(device, nonce));
        java.nio.file.Files.setPosixFilePermissions(
                file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        var e = assertThrows(KeyCustodyException.class, () -> ChallengeStore.secretIn(file));
        assertTrue(e.getMessage().contains("chmod 600"), e.getMessage());
    }

    @Test
    void aChallengeStoreNeedsAPositiveLifetime() {
        assertThrows(IllegalArgumentException.class, () -> new ChallengeStore(Fixtures.CLOCK, Duration.ZERO));
    }
}
