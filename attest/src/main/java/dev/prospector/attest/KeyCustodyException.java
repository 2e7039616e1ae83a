package dev.prospector.attest;

/**
 * A device key cannot be used safely or at all (missing, unreadable, not an Ed25519 PKCS#8 PEM,
 * readable by group or others). The message is one line naming the file and the fix.
 */
public final class KeyCustodyException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public KeyCustodyException(String message) {
        super(message);
    }

    public KeyCustodyException(String message, Throwable cause) {
        super(message, cause);
    }
}
