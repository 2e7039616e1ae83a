package dev.prospector.ledger;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** SHA-256 through the JDK (intrinsified on x86 SHA-NI and ARMv8 crypto extensions). */
final class Sha256 {
    static final int SIZE = 32;
    /** One digest per thread: MessageDigest is not thread-safe and costly to create. */
    private static final ThreadLocal<MessageDigest> DIGEST = ThreadLocal.withInitial(Sha256::newDigest);

    private Sha256() {}

    static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }

    static MessageDigest threadDigest() {
        return DIGEST.get();
    }

    static byte[] hash(byte[] b) {
        return hash(b, 0, b.length);
    }

    static byte[] hash(byte[] b, int off, int len) {
        MessageDigest md = DIGEST.get();
        md.update(b, off, len);
        return md.digest();
    }
}
