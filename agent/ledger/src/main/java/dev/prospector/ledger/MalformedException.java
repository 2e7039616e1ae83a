package dev.prospector.ledger;

/** Bytes that do not decode to a ledger object; the message names the field. */
public final class MalformedException extends Exception {
    private static final long serialVersionUID = 1L;

    public MalformedException(String message) {
        super(message);
    }
}
