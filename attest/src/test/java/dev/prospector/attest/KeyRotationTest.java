package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A device rotates its key: identity and history stay, the verifier follows, the old key stops counting. */
class KeyRotationTest {
    @TempDir
    Path dir;

    private static Appraisal.Accepted accepted(Appraisal a) {
        return assertInstanceOf(Appraisal.Accepted.class, a, a::toString);
    }

    @Test
    void aRotatedKeyKeepsTheDeviceIdAndSurvivesARestart() {
        var old = DeviceKeys.generate();
        old.write(dir);
        var rotated = old.rotate(Fixtures.NOW);
        rotated.write(dir);
        var loaded = DeviceKeys.load(dir);
        assertEquals(old.deviceId(), loaded.deviceId());
        assertArrayEquals(rotated.publicKey(), loaded.publicKey());
        assertFalse(java.util.Arrays.equals(old.publicKey(), loaded.publicKey()));
        assertEquals(1, loaded.rotations().size());
        assertArrayEquals(old.publicKey(), loaded.rotations().get(0).oldKey());
        assertArrayEquals(rotated.publicKey(), DeviceKeys.readPublicKey(dir.resolve("device.pub")));
    }

    @Test
    void theVerifierFollowsARotationAndTheChainContinues() {
        var appraiser = Fixtures.appraiser();
        var old = DeviceKeys.generate();
        var state = ChainState.inMemory();
        accepted(appraiser.appraise(
                new ReportSigner(old, state).sign(Fixtures.input()).bytes()));
        var rotated = old.rotate(Fixtures.NOW);
        var after = accepted(appraiser.appraise(
                new ReportSigner(rotated, state).sign(Fixtures.input()).bytes()));
        assertEquals(old.deviceId(), after.device());
        assertEquals(2, after.seq());
        assertEquals(0, after.gap());
        assertArrayEquals(
                rotated.publicKey(), appraiser.pinnedKey(old.deviceId()).orElseThrow());
    }

    @Test
    void afterARotationTheOldKeyIsAKeyMismatch() {
        var appraiser = Fixtures.appraiser();
        var old = DeviceKeys.generate();
        var state = ChainState.inMemory();
        accepted(appraiser.appraise(
                new ReportSigner(old, state).sign(Fixtures.input()).bytes()));
        accepted(appraiser.appraise(new ReportSigner(old.rotate(Fixtures.NOW), state)
                .sign(Fixtures.input())
                .bytes()));
        var stolen = new ReportSigner(old, state).sign(Fixtures.input()).bytes();
        var r = assertInstanceOf(Appraisal.Rejected.class, appraiser.appraise(stolen));
        assertEquals(ReasonCode.KEY_MISMATCH, r.reason(), r::toString);
    }

    @Test
    void aVerifierSeeingTheDeviceFirstAfterSeveralRotationsFollowsTheWholeChain() throws Exception {
        var keys = DeviceKeys.generate();
        var first = keys.deviceId();
        for (int i = 0; i < 3; i++) {
            keys = keys.rotate(Fixtures.NOW);
        }
        byte[] report = new ReportSigner(keys, ChainState.inMemory())
                .sign(Fixtures.input())
                .bytes();
        assertTrue(Report.decode(report).verifySignature(), "self-verifying through the rotations");
        assertEquals(first, accepted(Fixtures.appraiser().appraise(report)).device());
    }

    @Test
    void aVerifierThatMissedARotationFollowsItFromTheReport() {
        var appraiser = Fixtures.appraiser();
        var k0 = DeviceKeys.generate();
        var state = ChainState.inMemory();
        accepted(appraiser.appraise(
                new ReportSigner(k0, state).sign(Fixtures.input()).bytes()));
        var k2 = k0.rotate(Fixtures.NOW).rotate(Fixtures.NOW);
        accepted(appraiser.appraise(
                new ReportSigner(k2, state).sign(Fixtures.input()).bytes()));
    }

    @Test
    void aRotationNotSignedByTheOldKeyIsABadSignature() throws Exception {
        var appraiser = Fixtures.appraiser();
        var device = DeviceKeys.generate();
        var state = ChainState.inMemory();
        accepted(appraiser.appraise(
                new ReportSigner(device, state).sign(Fixtures.input()).bytes()));
        // An attacker names its own key as the device's new key, signing the statement itself.
        var attacker = DeviceKeys.generate();
        byte[] payload = Cbor.encode(Cbor.map()
                .put("v", new Cbor.Int(1))
                .put("dev", new Cbor.Text(device.deviceId().value()))
                .put("n", new Cbor.Int(1))
                .put("old", new Cbor.Bytes(device.publicKey()))
                .put("new", new Cbor.Bytes(attacker.publicKey()))
                .put("iat", new Cbor.Int(Fixtures.NOW.toEpochMilli()))
                .build());
        var forged = KeyRotation.decode(CoseSign1.sign(device.deviceId().kid(), payload, attacker));
        assertFalse(forged.verifySignature());
        var c = new ReportSigner(device, ChainState.inMemory())
                .sign(Fixtures.input())
                .claims();
        var claims = new Claims(
                c.device(),
                attacker.publicKey(),
                c.fleet(),
                2,
                java.util.Optional.of(new byte[32]),
                state.chain(),
                c.iat(),
                c.epoch(),
                c.nonce(),
                c.bootId(),
                c.uptime(),
                c.measurements(),
                c.softwareVersion(),
                c.configHash(),
                java.util.Optional.empty(),
                List.of(forged));
        byte[] report = CoseSign1.sign(device.deviceId().kid(), claims.encode(), attacker);
        assertFalse(Report.decode(report).verifySignature());
        var r = assertInstanceOf(Appraisal.Rejected.class, appraiser.appraise(report));
        assertEquals(ReasonCode.BAD_SIGNATURE, r.reason(), r::toString);
        var fresh =
                assertInstanceOf(Appraisal.Rejected.class, Fixtures.appraiser().appraise(report));
        assertEquals(ReasonCode.BAD_SIGNATURE, fresh.reason(), "also on first sight");
    }

    @Test
    void aRotationInterruptedBeforeTheNewKeyWasStoredIsDroppedOnLoad() throws Exception {
        var old = DeviceKeys.generate();
        old.write(dir);
        var rotated = old.rotate(Fixtures.NOW);
        rotated.write(dir);
        Path keyOnly = Files.createDirectory(dir.resolve("crash"));
        // The crash left the new rotations file next to the old private key.
        old.write(keyOnly);
        Files.copy(dir.resolve(DeviceKeys.ROTATIONS_FILE), keyOnly.resolve(DeviceKeys.ROTATIONS_FILE));
        var loaded = DeviceKeys.load(keyOnly);
        assertArrayEquals(old.publicKey(), loaded.publicKey());
        assertTrue(loaded.rotations().isEmpty());
        assertEquals(old.deviceId(), loaded.deviceId());
    }

    @Test
    void aKeyThatMatchesNoRotationIsRefused() throws Exception {
        var rotated = DeviceKeys.generate().rotate(Fixtures.NOW);
        rotated.write(dir);
        DeviceKeys.generate().write(dir.resolve("other"));
        Files.copy(
                dir.resolve("other").resolve("device.key"),
                dir.resolve("device.key"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        var e = assertThrows(KeyCustodyException.class, () -> DeviceKeys.load(dir));
        assertTrue(e.getMessage().contains("does not match the rotations"), e.getMessage());
    }

    @Test
    void rotationsAreBounded() {
        var keys = DeviceKeys.generate();
        for (int i = 0; i < Limits.MAX_ROTATIONS; i++) {
            keys = keys.rotate(Fixtures.NOW);
        }
        var full = keys;
        assertThrows(IllegalStateException.class, () -> full.rotate(Fixtures.NOW));
    }
}
