package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPairGenerator;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeviceKeysTest {
    @TempDir
    Path dir;

    @Test
    void writtenKeysLoadBackWithTheSameIdentity() {
        var keys = DeviceKeys.generate();
        keys.write(dir);
        var loaded = DeviceKeys.load(dir);
        assertEquals(keys.deviceId(), loaded.deviceId());
        assertArrayEquals(keys.publicKey(), loaded.publicKey());
        assertArrayEquals(keys.publicKey(), DeviceKeys.readPublicKey(dir.resolve("device.pub")));
    }

    @Test
    void privateKeyIsPkcs8PemOwnerOnlyAndPublicKeyIsSubjectPublicKeyInfo() throws Exception {
        DeviceKeys.generate().write(dir);
        assertEquals(
                "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("device.key"))));
        assertTrue(Files.readString(dir.resolve("device.key")).startsWith("-----BEGIN PRIVATE KEY-----"));
        assertTrue(Files.readString(dir.resolve("device.pub")).startsWith("-----BEGIN PUBLIC KEY-----"));
        try (var listing = Files.list(dir)) {
            assertEquals(2, listing.count(), "no temporary files are left behind");
        }
    }

    @Test
    void theJdkReadsTheKeyFilesAndVerifiesASignature() throws Exception {
        var keys = DeviceKeys.generate();
        keys.write(dir);
        var kf = java.security.KeyFactory.getInstance("Ed25519");
        var pub = kf.generatePublic(new java.security.spec.X509EncodedKeySpec(pemBody(dir.resolve("device.pub"))));
        var priv = kf.generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(pemBody(dir.resolve("device.key"))));
        var jdk = java.security.Signature.getInstance("Ed25519");
        jdk.initSign(priv);
        jdk.update(new byte[] {1, 2, 3});
        byte[] sig = jdk.sign();
        assertArrayEquals(sig, keys.sign(new byte[] {1, 2, 3}), "Ed25519 is deterministic: same key, same signature");
        jdk.initVerify(pub);
        jdk.update(new byte[] {1, 2, 3});
        assertTrue(jdk.verify(sig));
    }

    @Test
    void refusesAKeyThatOthersCanReadNamingTheFileAndTheFix() throws Exception {
        DeviceKeys.generate().write(dir);
        Path key = dir.resolve("device.key");
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
        var e = assertThrows(KeyCustodyException.class, () -> DeviceKeys.load(dir));
        assertTrue(e.getMessage().contains(key.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("chmod 600 " + key), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void refusesAKeyThatTheGroupCanRead() throws Exception {
        DeviceKeys.generate().write(dir);
        Files.setPosixFilePermissions(dir.resolve("device.key"), PosixFilePermissions.fromString("rw-r-----"));
        assertThrows(KeyCustodyException.class, () -> DeviceKeys.load(dir));
    }

    @Test
    void refusesAMissingKeySayingHowToMakeOne() {
        var e = assertThrows(KeyCustodyException.class, () -> DeviceKeys.load(dir));
        assertTrue(e.getMessage().contains("prospector keygen"), e.getMessage());
    }

    @Test
    void refusesAFileThatIsNotPem() throws Exception {
        Path key = dir.resolve("device.key");
        Files.writeString(key, "hello");
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        var e = assertThrows(KeyCustodyException.class, () -> DeviceKeys.load(dir));
        assertTrue(e.getMessage().contains("PKCS#8"), e.getMessage());
    }

    @Test
    void refusesAKeyOfAnotherAlgorithm() throws Exception {
        var gen = KeyPairGenerator.getInstance("EC");
        gen.initialize(256);
        byte[] der = gen.generateKeyPair().getPrivate().getEncoded();
        Path key = dir.resolve("device.key");
        Files.writeString(
                key,
                "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder().encodeToString(der)
                        + "\n-----END PRIVATE KEY-----\n");
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        var e = assertThrows(KeyCustodyException.class, () -> DeviceKeys.load(dir));
        assertTrue(e.getMessage().contains("not an Ed25519 key"), e.getMessage());
    }

    @Test
    void loadOrCreateMakesAKeyOnceAndThenKeepsIt() {
        var first = DeviceKeys.loadOrCreate(dir);
        var second = DeviceKeys.loadOrCreate(dir);
        assertEquals(first.deviceId(), second.deviceId());
    }

    @Test
    void toStringShowsTheDeviceButNoKeyMaterial() {
        var keys = DeviceKeys.fromSeed(new byte[32]);
        String s = keys.toString();
        assertTrue(s.contains(keys.deviceId().value()));
        assertFalse(s.contains(Hex.encode(keys.publicKey())));
        assertFalse(
                s.contains(Base64.getEncoder().encodeToString(keys.publicKey()).substring(0, 20)));
    }

    private static byte[] pemBody(Path file) throws Exception {
        String b64 = Files.readString(file).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        return Base64.getDecoder().decode(b64);
    }
}
