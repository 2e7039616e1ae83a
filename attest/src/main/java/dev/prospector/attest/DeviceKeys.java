package dev.prospector.attest;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.util.PrivateKeyFactory;
import org.bouncycastle.crypto.util.PrivateKeyInfoFactory;
import org.bouncycastle.crypto.util.PublicKeyFactory;
import org.bouncycastle.crypto.util.SubjectPublicKeyInfoFactory;
import org.bouncycastle.math.ec.rfc8032.Ed25519;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;
import org.bouncycastle.util.io.pem.PemWriter;
import org.tinylog.Logger;

/**
 * A device's Ed25519 key pair and identity.
 *
 * <p>Files in the key directory: {@code device.key} (PKCS#8 PEM, mode 0600), {@code device.pub}
 * (SubjectPublicKeyInfo PEM) and, once the key has been rotated, {@code device.rot} (the CBOR
 * array of {@link KeyRotation} statements from the first key to the current one). Every file is
 * replaced atomically. The private key is never logged and never part of {@link #toString()}.
 */
public final class DeviceKeys {
    public static final String PRIVATE_KEY_FILE = "device.key";
    public static final String PUBLIC_KEY_FILE = "device.pub";
    public static final String ROTATIONS_FILE = "device.rot";

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.of(
            PosixFilePermission.GROUP_READ,
            PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ,
            PosixFilePermission.OTHERS_WRITE,
            PosixFilePermission.OTHERS_EXECUTE);

    private final byte[] seed;
    private final byte[] publicKey;
    private final DeviceId deviceId;
    private final List<KeyRotation> rotations;

    private DeviceKeys(byte[] seed, List<KeyRotation> rotations) {
        this.seed = seed.clone();
        this.publicKey = new byte[Ed25519.PUBLIC_KEY_SIZE];
        Ed25519.generatePublicKey(this.seed, 0, this.publicKey, 0);
        this.rotations = List.copyOf(rotations);
        this.deviceId =
                DeviceId.of(rotations.isEmpty() ? publicKey : rotations.get(0).oldKey());
    }

    /** A fresh key pair from the system's secure random source. */
    public static DeviceKeys generate() {
        byte[] seed = new byte[Ed25519.SECRET_KEY_SIZE];
        RANDOM.nextBytes(seed);
        return new DeviceKeys(seed, List.of());
    }

    /** The key pair of a 32-byte Ed25519 seed (RFC 8032 private key); for test vectors. */
    public static DeviceKeys fromSeed(byte[] seed) {
        if (seed.length != Ed25519.SECRET_KEY_SIZE) {
            throw new IllegalArgumentException("an Ed25519 seed has 32 bytes, not " + seed.length);
        }
        return new DeviceKeys(seed, List.of());
    }

    /** Loads the keys from {@code dir}, or generates and writes them there if there are none. */
    public static DeviceKeys loadOrCreate(Path dir) {
        if (Files.exists(dir.resolve(PRIVATE_KEY_FILE))) {
            return load(dir);
        }
        var keys = generate();
        keys.write(dir);
        Logger.info("Created device key {} for device {}", dir.resolve(PRIVATE_KEY_FILE), keys.deviceId());
        return keys;
    }

    /**
     * Loads {@code dir/device.key}, refusing a key that group or others can access, that is missing,
     * or that is not an Ed25519 PKCS#8 PEM.
     */
    public static DeviceKeys load(Path dir) {
        Path file = dir.resolve(PRIVATE_KEY_FILE);
        checkPermissions(file);
        String pem;
        try {
            pem = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            throw new KeyCustodyException(
                    "no device key at " + file + "; create one with: prospector keygen --dir " + dir);
        } catch (IOException e) {
            throw new KeyCustodyException("cannot read device key " + file + " (" + e.getMessage()
                    + "); check the file's owner and run: chmod 600 " + file);
        }
        byte[] seed = parsePrivateKey(pem, file);
        List<KeyRotation> rotations = readRotations(dir.resolve(ROTATIONS_FILE));
        var keys = new DeviceKeys(seed, rotations);
        if (!rotations.isEmpty()) {
            var last = rotations.get(rotations.size() - 1);
            if (!java.util.Arrays.equals(last.newKey(), keys.publicKey)) {
                if (java.util.Arrays.equals(last.oldKey(), keys.publicKey)) {
                    // A rotation was interrupted after its statement but before the new key was
                    // stored: the statement was never published and its key is gone; drop it.
                    Logger.warn("Dropping an unfinished key rotation in {}", dir.resolve(ROTATIONS_FILE));
                    keys = new DeviceKeys(seed, rotations.subList(0, rotations.size() - 1));
                } else {
                    throw new KeyCustodyException(
                            "device key " + file + " does not match the rotations in " + dir.resolve(ROTATIONS_FILE)
                                    + "; restore the matching key or move the key directory aside and run: prospector keygen --dir "
                                    + dir);
                }
            }
        }
        return keys;
    }

    private static void checkPermissions(Path file) {
        checkPermissions(file, "device key");
    }

    /** Refuses {@code file} (a private key or secret, named {@code what}) if group or others can access it. */
    static void checkPermissions(Path file, String what) {
        var view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
        if (view == null) {
            return; // not a POSIX file system: nothing to check
        }
        Set<PosixFilePermission> perms;
        try {
            perms = view.readAttributes().permissions();
        } catch (NoSuchFileException e) {
            throw new KeyCustodyException(
                    "no " + what + " at " + file + "; create one with: prospector keygen --dir " + file.getParent());
        } catch (IOException e) {
            throw new KeyCustodyException("cannot read " + what + " " + file + " (" + e.getMessage()
                    + "); check the file's owner and run: chmod 600 " + file);
        }
        var exposed = EnumSet.noneOf(PosixFilePermission.class);
        exposed.addAll(perms);
        exposed.retainAll(GROUP_OR_OTHERS);
        if (!exposed.isEmpty()) {
            throw new KeyCustodyException(what + " " + file + " is accessible by group or others (mode "
                    + PosixFilePermissions.toString(perms) + "); refusing to use it; run: chmod 600 " + file);
        }
    }

    private static byte[] parsePrivateKey(String pem, Path file) {
        try (var reader = new PemReader(new StringReader(pem))) {
            PemObject obj = reader.readPemObject();
            if (obj == null || !"PRIVATE KEY".equals(obj.getType())) {
                throw new KeyCustodyException("device key " + file
                        + " is not a PKCS#8 PEM (BEGIN PRIVATE KEY); move it aside and run: prospector keygen --dir "
                        + file.getParent());
            }
            AsymmetricKeyParameter key = PrivateKeyFactory.createKey(obj.getContent());
            if (!(key instanceof Ed25519PrivateKeyParameters ed)) {
                throw new KeyCustodyException("device key " + file
                        + " is not an Ed25519 key; move it aside and run: prospector keygen --dir " + file.getParent());
            }
            return ed.getEncoded();
        } catch (IOException | RuntimeException e) {
            if (e instanceof KeyCustodyException k) {
                throw k;
            }
            throw new KeyCustodyException("device key " + file
                    + " is not a readable PKCS#8 PEM; move it aside and run: prospector keygen --dir "
                    + file.getParent());
        }
    }

    private static List<KeyRotation> readRotations(Path file) {
        if (!Files.exists(file)) {
            return List.of();
        }
        try {
            var value = Cbor.decode(Files.readAllBytes(file));
            if (!(value instanceof Cbor.Array arr)) {
                throw new MalformedReportException("not a CBOR array");
            }
            var out = new ArrayList<KeyRotation>();
            for (var item : arr.items()) {
                if (!(item instanceof Cbor.Bytes b)) {
                    throw new MalformedReportException("rotation statement is not a byte string");
                }
                var rotation = KeyRotation.decode(b.value());
                if (!rotation.verifySignature()) {
                    throw new MalformedReportException("rotation " + rotation.number() + " has a bad signature");
                }
                out.add(rotation);
            }
            KeyRotation.checkChain(out);
            return out;
        } catch (IOException | MalformedReportException e) {
            throw new KeyCustodyException(
                    "key rotations file " + file + " is unreadable (" + e.getMessage() + "); restore it from a backup");
        }
    }

    /** Reads the raw 32-byte Ed25519 key of a SubjectPublicKeyInfo PEM file. */
    public static byte[] readPublicKey(Path pemFile) {
        try (var reader = new PemReader(Files.newBufferedReader(pemFile, StandardCharsets.US_ASCII))) {
            PemObject obj = reader.readPemObject();
            if (obj == null || !"PUBLIC KEY".equals(obj.getType())) {
                throw new KeyCustodyException("public key " + pemFile + " is not a PEM public key (BEGIN PUBLIC KEY)");
            }
            AsymmetricKeyParameter key = PublicKeyFactory.createKey(obj.getContent());
            if (!(key instanceof Ed25519PublicKeyParameters ed)) {
                throw new KeyCustodyException("public key " + pemFile + " is not an Ed25519 key");
            }
            return ed.getEncoded();
        } catch (KeyCustodyException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new KeyCustodyException("cannot read public key " + pemFile + " (" + e.getMessage() + ")");
        }
    }

    /**
     * Writes {@code device.key} (mode 0600), {@code device.pub} and, if the key was rotated,
     * {@code device.rot} into {@code dir}, each atomically (a key never rotated removes a stale
     * {@code device.rot} first). The rotations are written before the
     * new private key, so an interruption leaves a state that {@link #load} repairs.
     */
    public void write(Path dir) {
        try {
            if (rotations.isEmpty()) {
                // A new identity: rotations of an earlier key in this folder no longer apply, and
                // must be gone before the new key is there (load() would refuse the mix).
                if (Files.deleteIfExists(dir.resolve(ROTATIONS_FILE))) {
                    AtomicFiles.fsyncDirectory(dir);
                }
            } else {
                var items = new ArrayList<Cbor.Value>();
                for (var r : rotations) {
                    items.add(new Cbor.Bytes(r.bytes()));
                }
                AtomicFiles.write(
                        dir.resolve(ROTATIONS_FILE), Cbor.encode(new Cbor.Array(items)), AtomicFiles.WORLD_READABLE);
            }
            AtomicFiles.write(
                    dir.resolve(PRIVATE_KEY_FILE),
                    privatePem().getBytes(StandardCharsets.US_ASCII),
                    AtomicFiles.OWNER_ONLY);
            AtomicFiles.write(
                    dir.resolve(PUBLIC_KEY_FILE),
                    publicPem().getBytes(StandardCharsets.US_ASCII),
                    AtomicFiles.WORLD_READABLE);
        } catch (IOException e) {
            throw new KeyCustodyException("cannot write device key to " + dir + " (" + e.getMessage()
                    + "); check that the directory is writable by this user");
        }
    }

    private String privatePem() throws IOException {
        PrivateKeyInfo info = PrivateKeyInfoFactory.createPrivateKeyInfo(new Ed25519PrivateKeyParameters(seed, 0));
        return pem("PRIVATE KEY", info.getEncoded());
    }

    /** The current public key as a SubjectPublicKeyInfo PEM. */
    public String publicPem() {
        try {
            return pem(
                    "PUBLIC KEY",
                    SubjectPublicKeyInfoFactory.createSubjectPublicKeyInfo(new Ed25519PublicKeyParameters(publicKey, 0))
                            .getEncoded());
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode a public key", e);
        }
    }

    private static String pem(String type, byte[] der) throws IOException {
        var sw = new StringWriter();
        try (var w = new PemWriter(sw)) {
            w.writeObject(new PemObject(type, der));
        }
        return sw.toString();
    }

    /**
     * A new key for the same device: a {@link KeyRotation} statement signed by this key names the
     * new public key. Write the result with {@link #write(Path)} before using it.
     */
    public DeviceKeys rotate(java.time.Instant at) {
        if (rotations.size() >= Limits.MAX_ROTATIONS) {
            throw new IllegalStateException(
                    "device " + deviceId + " already rotated its key " + Limits.MAX_ROTATIONS + " times");
        }
        byte[] newSeed = new byte[Ed25519.SECRET_KEY_SIZE];
        RANDOM.nextBytes(newSeed);
        byte[] newPublic = new byte[Ed25519.PUBLIC_KEY_SIZE];
        Ed25519.generatePublicKey(newSeed, 0, newPublic, 0);
        var statement = KeyRotation.sign(this, newPublic, rotations.size() + 1, at);
        var all = new ArrayList<>(rotations);
        all.add(statement);
        return new DeviceKeys(newSeed, all);
    }

    /** The private seed, for {@link OperatorKey}'s own key file only. */
    byte[] seedForExport() {
        return seed.clone();
    }

    /** The device's identity (that of its first key; unchanged by rotation). */
    public DeviceId deviceId() {
        return deviceId;
    }

    /** The current raw 32-byte Ed25519 public key. */
    public byte[] publicKey() {
        return publicKey.clone();
    }

    /** The rotation statements from the first key to the current one (empty if never rotated). */
    public List<KeyRotation> rotations() {
        return rotations;
    }

    /** The 64-byte Ed25519 signature of {@code message}. */
    public byte[] sign(byte[] message) {
        return sign(message, 0, message.length);
    }

    /** The 64-byte Ed25519 signature of {@code message[off, off+len)}. */
    public byte[] sign(byte[] message, int off, int len) {
        byte[] sig = new byte[Ed25519.SIGNATURE_SIZE];
        Ed25519.sign(seed, 0, publicKey, 0, message, off, len, sig, 0);
        return sig;
    }

    @Override
    public String toString() {
        return "DeviceKeys[device=" + deviceId + "]";
    }
}
