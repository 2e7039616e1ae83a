package dev.prospector.attest;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * SHA-256 of a byte array, the one hash of the evidence: a report's hash (what the next report's
 * {@code prev} and a receipt name), a device id (from the key's hash), a configuration hash.
 *
 * <p>Each thread reuses one {@link MessageDigest}: the appraiser hashes every report it sees, and
 * looking up a provider on every call costs more than hashing a 32-byte key. The digest never
 * leaves this class, so no caller can leave it half-fed for the next one. (The ledger has its own
 * {@code dev.prospector.ledger.Sha256}: it may not depend on this module.)
 */
public final class Sha256 {
    /** Length of a SHA-256 hash. */
    public static final int BYTES = 32;

    private static final ThreadLocal<MessageDigest> DIGEST = ThreadLocal.withInitial(Sha256::newDigest);

    private Sha256() {}

    /** SHA-256 of {@code data}. */
    public static byte[] of(byte[] data) {
        var md = DIGEST.get();
        md.reset();
        return md.digest(data);
    }

    /** SHA-256 of the concatenation of {@code parts}, without building it. */
    public static byte[] ofParts(byte[]... parts) {
        var md = DIGEST.get();
        md.reset();
        for (byte[] part : parts) {
            md.update(part);
        }
        return md.digest();
    }

    /**
     * A digest of its own for a caller that feeds one in steps or into a buffer (a plotter, a
     * transfer being hashed as it streams); short hashes should use {@link #of} or {@link #ofParts}.
     */
    public static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every JDK", e);
        }
    }

    /** SHA-256 of {@code len} bytes of {@code data} from {@code off}. */
    public static byte[] of(byte[] data, int off, int len) {
        var md = DIGEST.get();
        md.reset();
        md.update(data, off, len);
        return md.digest();
    }
}
