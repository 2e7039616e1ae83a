package dev.prospector.hardware;

/**
 * Why a file or sensor gave no usable value; becomes the reason of a
 * {@link Reading.Unavailable}. Stackless: it is expected and cheap, never a crash.
 */
final class Unreadable extends Exception {
    private static final long serialVersionUID = 1L;

    /** How much of a garbled file to quote in the reason. */
    private static final int QUOTE_CHARS = 40;

    Unreadable(String reason) {
        super(reason, null, false, false);
    }

    static Unreadable garbled(String boardPath, String text) {
        String trimmed = text.strip();
        String quote = trimmed.length() > QUOTE_CHARS ? trimmed.substring(0, QUOTE_CHARS) + "..." : trimmed;
        StringBuilder safe = new StringBuilder(quote.length());
        for (int i = 0; i < quote.length(); i++) {
            char c = quote.charAt(i);
            safe.append(c < 0x20 || c > 0x7e ? '?' : c);
        }
        return new Unreadable("garbled " + boardPath + ": '" + safe + "'");
    }

    String reason() {
        return getMessage();
    }
}
