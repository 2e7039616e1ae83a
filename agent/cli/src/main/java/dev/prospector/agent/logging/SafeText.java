package dev.prospector.agent.logging;

import java.util.HexFormat;

/**
 * Text that may come from the network (a receipt's detail, a topic, a device's model string) made
 * safe to print as part of one line: every control character is written as an escape, so a
 * newline cannot start a forged log line and an ESC cannot drive the terminal. C0 controls and DEL
 * become {@code \n}, {@code \r}, {@code \t} or {@code \xNN}; C1 controls (U+0080 to U+009F) and
 * the Unicode line and paragraph separators (U+2028, U+2029) become {@code &#92;u00NN} (U+2028 as {@code &#92;u2028}).
 * Everything else, backslashes included, is kept as it is.
 */
public final class SafeText {
    private static final HexFormat HEX = HexFormat.of();

    private SafeText() {}

    /** {@code text} with every control character escaped; the same string when it has none. */
    public static String escape(String text) {
        int i = 0;
        while (i < text.length() && !isControl(text.charAt(i))) {
            i++;
        }
        if (i == text.length()) {
            return text;
        }
        StringBuilder b = new StringBuilder(text.length() + 16).append(text, 0, i);
        for (; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!isControl(c)) {
                b.append(c);
            } else if (c == '\n') {
                b.append("\\n");
            } else if (c == '\r') {
                b.append("\\r");
            } else if (c == '\t') {
                b.append("\\t");
            } else if (c < 0x80) {
                b.append("\\x").append(HEX.toHexDigits((byte) c));
            } else {
                b.append("\\u").append(HEX.toHexDigits(c));
            }
        }
        return b.toString();
    }

    /** True for C0 controls, DEL, C1 controls and the Unicode line and paragraph separators. */
    static boolean isControl(char c) {
        return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029';
    }
}
