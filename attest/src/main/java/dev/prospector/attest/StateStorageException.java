package dev.prospector.attest;

/**
 * A state file of the evidence layer could not be written (the chain position, a key pin): a full
 * or read-only disk, permissions. Its own type, so that callers tell it from a bug: the agent does
 * not release the report whose position could not be kept, the verifier answers
 * {@code verifier-error} (send again) instead of blaming the report.
 */
public final class StateStorageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public StateStorageException(String message, Throwable cause) {
        super(message, cause);
    }
}
