package dev.prospector.agent.wire;

/**
 * The end of an item cannot be found (truncated, not well-formed, over its limit), so neither it
 * nor anything after it in the stream can be read. {@code looksLike} is what its first bytes
 * promised ({@link WireItem#looksLike}); the message is the reason alone.
 */
public final class UnreadableItemException extends Exception {
    private static final long serialVersionUID = 1L;

    private final int number;
    private final long offset;
    private final String looksLike;

    public UnreadableItemException(int number, long offset, String looksLike, String reason) {
        super(reason);
        this.number = number;
        this.offset = offset;
        this.looksLike = looksLike;
    }

    /** Which item of the stream (from 1). */
    public int number() {
        return number;
    }

    /** Where it starts in the stream. */
    public long offset() {
        return offset;
    }

    public String looksLike() {
        return looksLike;
    }
}
