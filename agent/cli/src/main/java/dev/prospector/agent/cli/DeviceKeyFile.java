package dev.prospector.agent.cli;

import dev.prospector.agent.common.Failure;
import dev.prospector.attest.DeviceKeys;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A first look at a key directory's {@code device.key} before {@code DeviceKeys} loads it, so that
 * a file that is there but holds no PEM private key (random bytes, a certificate, a public key) is
 * named as such with the fix ({@code prospector keygen}). {@code DeviceKeys} reports a file that is
 * not ASCII as unreadable and advises chmod, which cannot help; everything else (a missing file,
 * permissions, a PEM that is no Ed25519 key) is still left to it.
 */
final class DeviceKeyFile {
    /** What every PKCS#8 PEM private key file holds. */
    static final String PEM_HEADER = "-----BEGIN PRIVATE KEY-----";
    /** Far more than an Ed25519 PKCS#8 PEM (about 120 bytes): a larger file is no such key. */
    private static final int MAX_KEY_FILE_BYTES = 64 * 1024;

    private DeviceKeyFile() {}

    /** Fails when {@code dir/device.key} exists and can be read but is no PEM private key. */
    static void requirePemIfPresent(Path dir) {
        requirePemIfPresent(dir, "");
    }

    /** As above, the message starting with {@code context} (e.g. {@code "receipt key: "}). */
    static void requirePemIfPresent(Path dir, String context) {
        Path file = dir.resolve(DeviceKeys.PRIVATE_KEY_FILE);
        if (Files.isRegularFile(file) && !looksLikePem(file)) {
            throw new Failure(context + notPem(dir));
        }
    }

    /** The message for a {@code device.key} in {@code dir} that is no PEM private key. */
    static String notPem(Path dir) {
        Path file = dir.resolve(DeviceKeys.PRIVATE_KEY_FILE);
        return "device key " + file + " is not a PEM private key (no " + PEM_HEADER
                + " line): move it aside and make a new key" + " with: prospector keygen --dir " + dir;
    }

    /** True unless the file can be read and holds no PEM private key header in ASCII text. */
    static boolean looksLikePem(Path file) {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_KEY_FILE_BYTES + 1);
        } catch (IOException e) {
            return true; // unreadable: DeviceKeys names the file and the permission fix
        }
        if (bytes.length > MAX_KEY_FILE_BYTES) {
            return false;
        }
        for (byte b : bytes) {
            if (b < 0) {
                return false; // not ASCII: a PEM file is
            }
        }
        return new String(bytes, StandardCharsets.US_ASCII).contains(PEM_HEADER);
    }
}
