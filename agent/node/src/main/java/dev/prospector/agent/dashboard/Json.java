package dev.prospector.agent.dashboard;

import java.math.BigDecimal;
import java.math.MathContext;

/**
 * A small JSON writer for the dashboard's API: objects and arrays built in order, strings escaped
 * for JSON and for embedding in HTML ({@code <}, {@code >}, {@code &} as {@code \\u00XX}), numbers
 * without exponents (NaN and infinities as null). No parser: the API only writes.
 */
final class Json {
    private static final MathContext DIGITS = new MathContext(12);
    private final StringBuilder b = new StringBuilder(1024);
    /** Whether the next member or element needs a comma before it, per open level. */
    private final boolean[] comma = new boolean[32];
    /** The bracket that opened each level. */
    private final char[] open = new char[32];

    private int depth;

    Json object() {
        value();
        b.append('{');
        comma[++depth] = false;
        open[depth] = '{';
        return this;
    }

    Json array() {
        value();
        b.append('[');
        comma[++depth] = false;
        open[depth] = '[';
        return this;
    }

    Json end() {
        b.append(open[depth] == '{' ? '}' : ']');
        depth--;
        return this;
    }

    Json key(String k) {
        if (comma[depth]) {
            b.append(',');
        }
        comma[depth] = true;
        string(k);
        b.append(':');
        keyed = true;
        return this;
    }

    private boolean keyed;

    private void value() {
        if (keyed) {
            keyed = false;
            return;
        }
        if (depth > 0) {
            if (comma[depth]) {
                b.append(',');
            }
            comma[depth] = true;
        }
    }

    Json value(String s) {
        value();
        if (s == null) {
            b.append("null");
        } else {
            string(s);
        }
        return this;
    }

    Json value(long n) {
        value();
        b.append(n);
        return this;
    }

    Json value(double d) {
        value();
        b.append(number(d));
        return this;
    }

    Json value(boolean v) {
        value();
        b.append(v);
        return this;
    }

    Json nul() {
        value();
        b.append("null");
        return this;
    }

    Json put(String k, String v) {
        return key(k).value(v);
    }

    Json put(String k, long v) {
        return key(k).value(v);
    }

    Json put(String k, double v) {
        return key(k).value(v);
    }

    Json put(String k, boolean v) {
        return key(k).value(v);
    }

    /** A double as JSON: whole ones as integers, others to 12 significant digits; NaN and infinities as null. */
    static String number(double d) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            return "null";
        }
        if (d == Math.rint(d) && Math.abs(d) < 1e15) {
            return Long.toString((long) d);
        }
        BigDecimal x = new BigDecimal(Double.toString(d)).round(DIGITS);
        return x.signum() == 0 ? "0" : x.stripTrailingZeros().toPlainString();
    }

    private void string(String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x2028 || c == 0x2029) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }

    @Override
    public String toString() {
        return b.toString();
    }
}
