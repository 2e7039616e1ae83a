package dev.prospector.agent.common;

/**
 * A state file could not be read or written (a full or read-only disk, permissions, damage that
 * needs the user): its own type, so that callers tell it from a bug and a verifier can answer
 * {@code verifier-error} (send again) instead of blaming the report.
 */
public final class StorageFailure extends Failure {
    private static final long serialVersionUID = 1L;

    public StorageFailure(String message, Throwable cause) {
        super(message, Kind.UNAVAILABLE, cause);
    }
}
