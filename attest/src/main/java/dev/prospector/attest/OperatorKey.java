package dev.prospector.attest;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.util.PrivateKeyFactory;
import org.bouncycastle.crypto.util.PrivateKeyInfoFactory;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;
import org.bouncycastle.util.io.pem.PemWriter;

/**
 * An operator's Ed25519 key: it signs {@link FleetCommand}s. Files: {@code operator.key} (PKCS#8
 * PEM, mode 0600, refused when group or others can read it) and {@code operator.pub}
 * (SubjectPublicKeyInfo PEM, what a board's configuration lists). Its id ({@link #keyId}) is the
 * first {@link #KEY_ID_BYTES} bytes of SHA-256 over the raw public key: the {@code kid} of the
 * commands it signs. The private key is never logged.
 */
public final class OperatorKey {
    public static final String PRIVATE_KEY_FILE = "operator.key";
    public static final String PUBLIC_KEY_FILE = "operator.pub";
    public static final int KEY_ID_BYTES = 16;

    private final DeviceKeys keys;

    private OperatorKey(DeviceKeys keys) {
        this.keys = keys;
    }

    public static OperatorKey generate() {
        return new OperatorKey(DeviceKeys.generate());
    }

    /** Writes {@code operator.key} (0600) and {@code operator.pub} into {@code dir}, refusing to overwrite a key. */
    public void write(Path dir) {
        Path priv = dir.resolve(PRIVATE_KEY_FILE);
        if (Files.exists(priv)) {
            throw new KeyCustodyException(
                    "an operator key is already at " + priv + "; keep it, or move it aside to make a new one");
        }
        try {
            Files.createDirectories(dir);
            AtomicFiles.write(priv, privatePem().getBytes(StandardCharsets.US_ASCII), AtomicFiles.OWNER_ONLY);
            AtomicFiles.write(
                    dir.resolve(PUBLIC_KEY_FILE),
                    keys.publicPem().getBytes(StandardCharsets.US_ASCII),
                    AtomicFiles.WORLD_READABLE);
        } catch (IOException e) {
            throw new KeyCustodyException(
                    "cannot write the operator key to " + dir + " (" + e.getMessage() + "); check that it is writable");
        }
    }

    /** Loads a private key file (or the {@code operator.key} of a directory). */
    public static OperatorKey load(Path fileOrDir) {
        Path file = Files.isDirectory(fileOrDir) ? fileOrDir.resolve(PRIVATE_KEY_FILE) : fileOrDir;
        if (!Files.exists(file)) {
            throw new KeyCustodyException(
                    "no operator key at " + file + "; create one with: prospector fleet keygen --dir DIR");
        }
        DeviceKeys.checkPermissions(file, "operator key");
        String pem;
        try {
            pem = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            throw new KeyCustodyException("no operator key at " + file);
        } catch (IOException e) {
            throw new KeyCustodyException("cannot read operator key " + file + " (" + e.getMessage() + ")");
        }
        try (var reader = new PemReader(new StringReader(pem))) {
            PemObject obj = reader.readPemObject();
            if (obj == null || !"PRIVATE KEY".equals(obj.getType())) {
                throw new KeyCustodyException("operator key " + file + " is not a PKCS#8 PEM (BEGIN PRIVATE KEY)");
            }
            AsymmetricKeyParameter key = PrivateKeyFactory.createKey(obj.getContent());
            if (!(key instanceof Ed25519PrivateKeyParameters ed)) {
                throw new KeyCustodyException("operator key " + file + " is not an Ed25519 key");
            }
            return new OperatorKey(DeviceKeys.fromSeed(ed.getEncoded()));
        } catch (IOException | RuntimeException e) {
            if (e instanceof KeyCustodyException k) {
                throw k;
            }
            throw new KeyCustodyException("operator key " + file + " is not a readable PKCS#8 PEM");
        }
    }

    /** The raw public key of a {@code .pub} PEM file. */
    public static byte[] readPublicKey(Path pemFile) {
        if (!Files.exists(pemFile)) {
            throw new KeyCustodyException("no operator public key at " + pemFile
                    + "; give the operator.pub written by: prospector fleet keygen --dir DIR");
        }
        return DeviceKeys.readPublicKey(pemFile);
    }

    /** The id of a raw public key: the kid of the commands it signs. */
    public static byte[] keyId(byte[] rawPublicKey) {
        return Arrays.copyOf(Sha256.of(rawPublicKey), KEY_ID_BYTES);
    }

    public byte[] publicKey() {
        return keys.publicKey();
    }

    public byte[] keyId() {
        return keyId(keys.publicKey());
    }

    public String publicPem() {
        return keys.publicPem();
    }

    /** Signs {@code payload} as a tagged COSE_Sign1 naming this key's id. */
    byte[] signCose(byte[] payload) {
        return CoseSign1.sign(keyId(), payload, keys);
    }

    private String privatePem() throws IOException {
        PrivateKeyInfo info =
                PrivateKeyInfoFactory.createPrivateKeyInfo(new Ed25519PrivateKeyParameters(keys.seedForExport(), 0));
        var sw = new StringWriter();
        try (var w = new PemWriter(sw)) {
            w.writeObject(new PemObject("PRIVATE KEY", info.getEncoded()));
        }
        return sw.toString();
    }

    @Override
    public String toString() {
        return "OperatorKey[" + Hex.encode(keyId()) + "]";
    }
}
