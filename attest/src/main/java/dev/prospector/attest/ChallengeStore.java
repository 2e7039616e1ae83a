package dev.prospector.attest;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The verifier's challenges. A challenge is a nonce bound to one device and to the time it was
 * issued; a report answers it by carrying it as its {@code nonce} claim. The nonce is
 * {@code issued-at (8 bytes, ms, big-endian) || HMAC-SHA256(secret, "prospector challenge v1" || dev || issued-at)[0..16]},
 * so checking it needs no per-device state: a verifier restarted with the same secret (kept in
 * its state dir) still recognises the challenges it issued, and verifiers of one group that share
 * the secret recognise each other's. Devices treat the nonce as opaque bytes.
 *
 * <p>A nonce is valid for a report when this verifier (its secret) issued it to the report's device
 * at most {@link #ttl} before the report's {@code iat}. Judging by the report's own time rather than
 * by its arrival keeps a report valid while it waits in a device's outbox for the network. Thread-safe.
 */
public final class ChallengeStore {
    /** Nonce length in bytes: 8 of issue time and 16 of tag. */
    public static final int NONCE_BYTES = 24;
    /** Length of the secret. */
    public static final int SECRET_BYTES = 32;

    private static final int TAG_BYTES = 16;
    private static final byte[] CONTEXT = "prospector challenge v1".getBytes(StandardCharsets.US_ASCII);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Clock clock;
    private final Duration ttl;
    private final SecretKeySpec key;
    private final ThreadLocal<Mac> macs;

    /** The outcome of checking a nonce. */
    public enum Status {
        VALID,
        EXPIRED,
        UNKNOWN
    }

    /** A store whose secret is random: its challenges are recognised by this process only. */
    public ChallengeStore(Clock clock, Duration ttl) {
        this(clock, ttl, randomSecret());
    }

    /** A store with {@code secret} ({@link #SECRET_BYTES} bytes), e.g. from {@link #secretIn(Path)}. */
    public ChallengeStore(Clock clock, Duration ttl, byte[] secret) {
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("challenge time-to-live must be positive, not " + ttl);
        }
        if (secret.length != SECRET_BYTES) {
            throw new IllegalArgumentException(
                    "a challenge secret has " + SECRET_BYTES + " bytes, not " + secret.length);
        }
        this.clock = clock;
        this.ttl = ttl;
        this.key = new SecretKeySpec(secret.clone(), "HmacSHA256");
        this.macs = ThreadLocal.withInitial(() -> {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(key);
                return mac;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("HmacSHA256 is required by every JDK", e);
            }
        });
    }

    /**
     * The secret kept in {@code file}, created (32 random bytes, mode 0600, atomically) if missing.
     * A file that group or others can read is refused, as a device key is.
     */
    public static byte[] secretIn(Path file) {
        if (!Files.exists(file)) {
            byte[] secret = randomSecret();
            Path tmp = file.resolveSibling(
                    file.getFileName() + ".new-" + ProcessHandle.current().pid());
            try {
                AtomicFiles.write(tmp, secret, AtomicFiles.OWNER_ONLY);
                // A hard link never replaces: of two verifiers creating the secret at once, one wins
                // and the other reads the winner's below, so both end with the same secret.
                Files.createLink(file, tmp);
                AtomicFiles.fsyncDirectory(file.toAbsolutePath().getParent());
                return secret;
            } catch (java.nio.file.FileAlreadyExistsException e) {
                // fall through: read the one that is there
            } catch (IOException | UnsupportedOperationException e) {
                throw new KeyCustodyException("cannot write the challenge secret " + file + " (" + e.getMessage()
                        + "); check that its folder is writable");
            } finally {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException e) {
                    // a leftover temporary file is harmless
                }
            }
        }
        DeviceKeys.checkPermissions(file, "challenge secret");
        try {
            byte[] secret = Files.readAllBytes(file);
            if (secret.length != SECRET_BYTES) {
                throw new KeyCustodyException("challenge secret " + file + " has " + secret.length + " bytes, not "
                        + SECRET_BYTES + "; delete it to make a new one (devices then answer the next challenge)");
            }
            return secret;
        } catch (IOException e) {
            throw new KeyCustodyException("cannot read the challenge secret " + file + " (" + e.getMessage() + ")");
        }
    }

    private static byte[] randomSecret() {
        byte[] secret = new byte[SECRET_BYTES];
        RANDOM.nextBytes(secret);
        return secret;
    }

    /** A fresh challenge for {@code device}, issued now; send it to the device (in its receipt). */
    public byte[] issue(DeviceId device) {
        long at = clock.millis();
        byte[] nonce = new byte[NONCE_BYTES];
        ByteBuffer.wrap(nonce).putLong(at);
        System.arraycopy(tag(device, at), 0, nonce, Long.BYTES, TAG_BYTES);
        return nonce;
    }

    /** Whether {@code nonce} was issued here to {@code device}, now. */
    public Status check(DeviceId device, byte[] nonce) {
        return check(device, nonce, clock.instant());
    }

    /**
     * Whether {@code nonce} was issued here to {@code device} at most {@link #ttl} before
     * {@code reportIat}. A nonce issued after the report was made (by more than the lifetime, to
     * allow for the device's clock) cannot have been answered by it: unknown.
     */
    public Status check(DeviceId device, byte[] nonce, Instant reportIat) {
        if (nonce.length != NONCE_BYTES) {
            return Status.UNKNOWN;
        }
        long at = ByteBuffer.wrap(nonce).getLong();
        byte[] expected = tag(device, at);
        if (!MessageDigest.isEqual(expected, java.util.Arrays.copyOfRange(nonce, Long.BYTES, NONCE_BYTES))) {
            return Status.UNKNOWN;
        }
        long age = reportIat.toEpochMilli() - at;
        if (age < -ttl.toMillis()) {
            return Status.UNKNOWN;
        }
        return age <= ttl.toMillis() ? Status.VALID : Status.EXPIRED;
    }

    private byte[] tag(DeviceId device, long at) {
        Mac mac = macs.get();
        mac.update(CONTEXT);
        mac.update(device.value().getBytes(StandardCharsets.US_ASCII));
        mac.update(ByteBuffer.allocate(Long.BYTES).putLong(at).array());
        return java.util.Arrays.copyOf(mac.doFinal(), TAG_BYTES);
    }

    /** How long after its issue a challenge may be answered. */
    public Duration ttl() {
        return ttl;
    }
}
