package dev.prospector.agent.console;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small, strict JSON reader for the boards' retained state messages: objects as
 * {@code Map<String, Object>}, arrays as {@code List}, strings, {@code Long} or {@code Double},
 * {@code Boolean}, {@code null}. Bounded: at most {@link #MAX_DEPTH} levels and
 * {@link #MAX_BYTES} bytes; anything else is an {@link IllegalArgumentException}. Written because
 * a console reads tens of thousands of them at once and the general CBOR library's JSON reader
 * was most of {@code fleet list}'s time.
 */
final class MiniJson {
    static final int MAX_DEPTH = 16;
    static final int MAX_BYTES = 64 * 1024;

    private final byte[] in;
    private int pos;

    private MiniJson(byte[] in) {
        this.in = in;
    }

    static Object parse(byte[] json) {
        if (json.length > MAX_BYTES) {
            throw new IllegalArgumentException("JSON of " + json.length + " bytes is over " + MAX_BYTES);
        }
        var p = new MiniJson(json);
        Object v = p.value(0);
        p.skipSpace();
        if (p.pos != json.length) {
            throw new IllegalArgumentException("trailing bytes after JSON at " + p.pos);
        }
        return v;
    }

    private void skipSpace() {
        while (pos < in.length && (in[pos] == ' ' || in[pos] == '\n' || in[pos] == '\r' || in[pos] == '\t')) {
            pos++;
        }
    }

    private IllegalArgumentException bad(String what) {
        return new IllegalArgumentException("bad JSON at " + pos + ": " + what);
    }

    private Object value(int depth) {
        if (depth > MAX_DEPTH) {
            throw bad("nested deeper than " + MAX_DEPTH);
        }
        skipSpace();
        if (pos >= in.length) {
            throw bad("unexpected end");
        }
        byte c = in[pos];
        switch (c) {
            case '{' -> {
                pos++;
                Map<String, Object> m = new LinkedHashMap<>();
                skipSpace();
                if (pos < in.length && in[pos] == '}') {
                    pos++;
                    return m;
                }
                while (true) {
                    skipSpace();
                    if (pos >= in.length || in[pos] != '"') {
                        throw bad("expected a key");
                    }
                    String k = string();
                    skipSpace();
                    expect(':');
                    m.put(k, value(depth + 1));
                    skipSpace();
                    if (pos < in.length && in[pos] == ',') {
                        pos++;
                    } else {
                        expect('}');
                        return m;
                    }
                }
            }
            case '[' -> {
                pos++;
                List<Object> l = new ArrayList<>();
                skipSpace();
                if (pos < in.length && in[pos] == ']') {
                    pos++;
                    return l;
                }
                while (true) {
                    l.add(value(depth + 1));
                    skipSpace();
                    if (pos < in.length && in[pos] == ',') {
                        pos++;
                    } else {
                        expect(']');
                        return l;
                    }
                }
            }
            case '"' -> {
                return string();
            }
            case 't' -> {
                literal("true");
                return Boolean.TRUE;
            }
            case 'f' -> {
                literal("false");
                return Boolean.FALSE;
            }
            case 'n' -> {
                literal("null");
                return null;
            }
            default -> {
                return number();
            }
        }
    }

    private void expect(char c) {
        if (pos >= in.length || in[pos] != c) {
            throw bad("expected '" + c + "'");
        }
        pos++;
    }

    private void literal(String word) {
        for (int i = 0; i < word.length(); i++) {
            if (pos >= in.length || in[pos] != word.charAt(i)) {
                throw bad("expected " + word);
            }
            pos++;
        }
    }

    private Object number() {
        int start = pos;
        boolean integral = true;
        while (pos < in.length) {
            byte c = in[pos];
            if ((c >= '0' && c <= '9') || c == '-') {
                pos++;
            } else if (c == '.' || c == 'e' || c == 'E' || c == '+') {
                integral = false;
                pos++;
            } else {
                break;
            }
        }
        if (start == pos) {
            throw bad("unexpected character");
        }
        String s = new String(in, start, pos - start, StandardCharsets.US_ASCII);
        try {
            return integral && pos - start < 19 ? (Object) Long.parseLong(s) : (Object) Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw bad("not a number: " + s);
        }
    }

    private String string() {
        pos++; // the opening quote
        int start = pos;
        boolean plain = true;
        while (pos < in.length && in[pos] != '"') {
            if (in[pos] == '\\') {
                plain = false;
                pos += 2;
            } else {
                pos++;
            }
        }
        if (pos >= in.length) {
            throw bad("unterminated string");
        }
        int end = pos++;
        if (plain) {
            return new String(in, start, end - start, StandardCharsets.UTF_8);
        }
        var b = new StringBuilder();
        String raw = new String(in, start, end - start, StandardCharsets.UTF_8);
        for (int i = 0; i < raw.length(); i++) {
            char ch = raw.charAt(i);
            if (ch != '\\') {
                b.append(ch);
                continue;
            }
            if (++i >= raw.length()) {
                throw bad("bad escape");
            }
            char e = raw.charAt(i);
            switch (e) {
                case 'n' -> b.append('\n');
                case 't' -> b.append('\t');
                case 'r' -> b.append('\r');
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'u' -> {
                    if (i + 4 >= raw.length()) {
                        throw bad("bad \\u escape");
                    }
                    try {
                        b.append((char) Integer.parseInt(raw.substring(i + 1, i + 5), 16));
                    } catch (NumberFormatException x) {
                        throw bad("bad \\u escape");
                    }
                    i += 4;
                }
                default -> b.append(e);
            }
        }
        return b.toString();
    }
}
