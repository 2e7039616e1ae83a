package dev.prospector.attest;

/** The bytes are not a well-formed, deterministic Prospector report; the message says why. */
public final class MalformedReportException extends Exception {
    private static final long serialVersionUID = 1L;

    public MalformedReportException(String message) {
        super(message);
    }
}
