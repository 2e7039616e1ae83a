package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pinned keys survive a verifier restart, so a rotated-away key stays refused. */
class KeyPinStoreTest {
    @TempDir
    Path dir;

    private Appraiser verifier(KeyPinStore pins) {
        return new Appraiser(
                AppraiserConfig.defaults().withClock(Fixtures.CLOCK).withKeyPins(pins));
    }

    @Test
    void aRotationStaysInForceAfterTheVerifierRestarts() {
        Path file = dir.resolve("pins.txt");
        var old = DeviceKeys.generate();
        var state = ChainState.inMemory();
        var pins = KeyPinStore.open(file);
        var first = verifier(pins);
        assertInstanceOf(
                Appraisal.Accepted.class,
                first.appraise(
                        new ReportSigner(old, state).sign(Fixtures.input()).bytes()));
        var rotated = old.rotate(Fixtures.NOW);
        assertInstanceOf(
                Appraisal.Accepted.class,
                first.appraise(
                        new ReportSigner(rotated, state).sign(Fixtures.input()).bytes()));
        pins.close();

        // A restarted verifier: a report made with the old key (stolen, say) is refused at once.
        var restarted = verifier(KeyPinStore.open(file));
        var stolen = new ReportSigner(old, ChainState.inMemory())
                .sign(Fixtures.input())
                .bytes();
        var r = assertInstanceOf(Appraisal.Rejected.class, restarted.appraise(stolen));
        assertEquals(ReasonCode.KEY_MISMATCH, r.reason(), r::toString);
        assertInstanceOf(
                Appraisal.Accepted.class,
                restarted.appraise(
                        new ReportSigner(rotated, state).sign(Fixtures.input()).bytes()));
    }

    @Test
    void withoutAPinStoreARestartedVerifierWouldTrustTheOldKeyAgain() {
        var old = DeviceKeys.generate();
        old.rotate(Fixtures.NOW);
        var stolen = new ReportSigner(old, ChainState.inMemory())
                .sign(Fixtures.input())
                .bytes();
        assertInstanceOf(
                Appraisal.Accepted.class,
                Fixtures.appraiser().appraise(stolen),
                "the reason to configure a KeyPinStore");
    }

    @Test
    void theFileKeepsTheLastPinPerDeviceAndIsCompactedOnOpen() throws Exception {
        Path file = dir.resolve("pins.txt");
        var device = DeviceKeys.generate().deviceId();
        var store = KeyPinStore.open(file);
        store.put(device, new byte[32], false);
        byte[] second = new byte[32];
        second[0] = 1;
        store.put(device, second, true);
        store.close();
        assertEquals(2, Files.readAllLines(file).size());
        Files.writeString(file, "torn line without a key\n", java.nio.file.StandardOpenOption.APPEND);
        var reopened = KeyPinStore.open(file);
        assertArrayEquals(second, reopened.get(device).orElseThrow());
        assertEquals(1, Files.readAllLines(file).size());
        reopened.close();
    }

    @Test
    void anUnwritablePinFileIsRefusedWithItsPath() throws Exception {
        Path notADirectory = Files.writeString(dir.resolve("plain-file"), "x");
        var e = assertThrows(IllegalArgumentException.class, () -> KeyPinStore.open(notADirectory.resolve("pins.txt")));
        assertTrue(e.getMessage().contains("pins.txt"), e.getMessage());
    }

    @Test
    void aPinThatCannotBeRecordedIsAVerifierErrorNotAnAcceptance() {
        var pins = KeyPinStore.open(dir.resolve("pins.txt"));
        pins.close();
        var r = assertInstanceOf(
                Appraisal.Rejected.class,
                verifier(pins).appraise(Fixtures.signer().sign(Fixtures.input()).bytes()));
        assertEquals(ReasonCode.VERIFIER_ERROR, r.reason(), r::toString);
    }

    @Test
    void aPinThatCannotBeWrittenIsTheVerifiersFaultNotTheReportsAndNothingIsPinned() {
        var pins = KeyPinStore.open(dir.resolve("pins.txt"));
        pins.close(); // the file cannot be written any more (as on a full or read-only disk)
        var device = DeviceKeys.generate();
        var report = new ReportSigner(device, ChainState.inMemory())
                .sign(Fixtures.input())
                .bytes();
        var r = assertInstanceOf(Appraisal.Rejected.class, verifier(pins).appraise(report));
        assertEquals(ReasonCode.VERIFIER_ERROR, r.reason(), "the board keeps the report and sends it again: " + r);
        assertTrue(pins.get(device.deviceId()).isEmpty(), "no pin in memory that is not on disk");
        assertThrows(StateStorageException.class, () -> pins.put(device.deviceId(), device.publicKey(), true));
    }
}
