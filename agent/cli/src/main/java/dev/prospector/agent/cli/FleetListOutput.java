package dev.prospector.agent.cli;

import dev.prospector.agent.console.DeviceView;
import dev.prospector.attest.Hex;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * What {@code prospector fleet list} (and {@code watch}) print for thousands of devices, written
 * straight into one buffer: the same text as {@link Table} and {@link JsonOutput} over
 * {@code CBORObject}s would give (FleetListOutputTest compares them), without their costs at
 * 10,000 rows: a regular expression per cell ({@link Table}'s number test), a line flushed per row,
 * a CBOR object tree and the CBOR library's classes in a command that otherwise never loads them.
 *
 * <h2>What the JSON must match</h2>
 * <ul>
 *   <li>strings escaped as {@code CBORObject.ToJSONString()} escapes them: {@code "} and
 *       {@code \}, {@code \b \t \n \f \r}, other controls and U+007F-U+00A0, U+2028, U+2029,
 *       U+FEFF, U+FFFE, U+FFFF as {@code \}{@code uXXXX} (upper-case hex); everything else as is;
 *   <li>a device's own fields in the order {@link FleetConsoleCommand#json} adds them; the keys of
 *       a compact state (a map the CBOR library made) in CBOR's canonical order: shorter UTF-8
 *       first, then bytewise;
 *   <li>numbers as {@link JsonOutput} writes them.
 * </ul>
 */
final class FleetListOutput {
    private static final String[] HEADER = {"DEVICE", "STATE", "LAST SEEN", "VERSION", "BOARD", "GROUPS", "LAST REPORT"
    };

    private FleetListOutput() {}

    /** The cells of one device's row, as {@link FleetConsoleCommand#table} has them. */
    static String[] row(DeviceView v, Instant now) {
        String report = v.lastReport();
        return new String[] {
            v.device(),
            v.online() ? "online" : "offline",
            v.lastSeen().isPresent()
                    ? FleetConsoleCommand.ago(Duration.between(v.lastSeen().get(), now))
                    : "-",
            v.version().isEmpty() ? "-" : v.version(),
            v.board().isEmpty() ? "-" : v.board(),
            v.groups().isEmpty() ? "-" : String.join(",", v.groups()),
            report.isEmpty() ? "-" : report
        };
    }

    /** The table of {@code devices}, each line ended by {@code newline}, as {@link Table#print} prints it. */
    static StringBuilder table(Collection<DeviceView> devices, Instant now, String newline) {
        List<String[]> rows = new ArrayList<>(devices.size());
        for (DeviceView v : devices) {
            rows.add(row(v, now));
        }
        int columns = HEADER.length;
        int[] width = new int[columns];
        boolean[] numeric = new boolean[columns];
        for (int i = 0; i < columns; i++) {
            width[i] = HEADER[i].length();
            numeric[i] = !rows.isEmpty();
        }
        int chars = 0;
        for (String[] row : rows) {
            for (int i = 0; i < columns; i++) {
                width[i] = Math.max(width[i], row[i].length());
                numeric[i] = numeric[i] && looksNumeric(row[i]);
            }
        }
        for (int w : width) {
            chars += w + 2;
        }
        StringBuilder b = new StringBuilder((rows.size() + 1) * (chars + newline.length()));
        line(b, HEADER, width, new boolean[columns]);
        b.append(newline);
        for (String[] row : rows) {
            line(b, row, width, numeric);
            b.append(newline);
        }
        return b;
    }

    /** {@code s.matches("-?[0-9][0-9.,]*%?")}, {@link Table}'s test for a right-aligned column, without a regex. */
    static boolean looksNumeric(String s) {
        int n = s.length();
        int i = 0;
        if (i < n && s.charAt(i) == '-') {
            i++;
        }
        if (i >= n || s.charAt(i) < '0' || s.charAt(i) > '9') {
            return false;
        }
        i++;
        if (n > i && s.charAt(n - 1) == '%') {
            n--;
        }
        for (; i < n; i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || c == '.' || c == ',')) {
                return false;
            }
        }
        return true;
    }

    private static void line(StringBuilder b, String[] cells, int[] width, boolean[] right) {
        for (int i = 0; i < cells.length; i++) {
            String c = cells[i];
            int pad = width[i] - c.length();
            if (i > 0) {
                b.append("  ");
            }
            if (right[i]) {
                spaces(b, pad).append(c);
            } else if (i == cells.length - 1) {
                b.append(c);
            } else {
                b.append(c);
                spaces(b, pad);
            }
        }
    }

    private static StringBuilder spaces(StringBuilder b, int n) {
        for (int i = 0; i < n; i++) {
            b.append(' ');
        }
        return b;
    }

    // ------------------------------------------------------------------ JSON

    /** {@code fleet list --json}: the document {@code JsonOutput.of} wrote from the CBOR tree, in one line (no newline). */
    static StringBuilder json(Collection<DeviceView> devices, long millis) {
        StringBuilder b = new StringBuilder(devices.size() * 600 + 64);
        b.append("{\"devices\":[");
        long online = 0;
        boolean first = true;
        for (DeviceView v : devices) {
            if (!first) {
                b.append(',');
            }
            first = false;
            device(b, v);
            if (v.online()) {
                online++;
            }
        }
        b.append("],\"count\":")
                .append(devices.size())
                .append(",\"online\":")
                .append(online)
                .append(",\"millis\":")
                .append(millis)
                .append('}');
        return b;
    }

    /** One device as {@link FleetConsoleCommand#json} has it. */
    static void device(StringBuilder b, DeviceView v) {
        b.append("{\"device\":");
        string(b, v.device());
        b.append(",\"online\":").append(v.online());
        b.append(",\"last_seen\":");
        if (v.lastSeen().isPresent()) {
            string(b, v.lastSeen().get().toString());
        } else {
            b.append("null");
        }
        b.append(",\"version\":");
        string(b, v.version());
        b.append(",\"board\":");
        string(b, v.board());
        b.append(",\"groups\":");
        value(b, v.groups());
        b.append(",\"last_report\":");
        string(b, v.lastReport());
        b.append(",\"key\":");
        if (v.key().isPresent()) {
            string(b, Hex.encode(v.key().get()));
        } else {
            b.append("null");
        }
        if (!v.keyProblem().isEmpty()) {
            b.append(",\"key_problem\":");
            string(b, v.keyProblem());
        }
        if (v.summary().isPresent()) {
            b.append(",\"summary\":");
            value(b, v.summary().get());
        }
        b.append('}');
    }

    /** A value of {@code MiniJson}'s kinds, as {@code JsonOutput.of(CBORObject.FromObject(value))} writes it. */
    static void value(StringBuilder b, Object o) {
        if (o == null) {
            b.append("null");
        } else if (o instanceof String s) {
            string(b, s);
        } else if (o instanceof Boolean x) {
            b.append(x.booleanValue());
        } else if (o instanceof Long x) {
            b.append(x.longValue());
        } else if (o instanceof Integer x) {
            b.append(x.intValue());
        } else if (o instanceof Double x) {
            b.append(JsonOutput.number(x));
        } else if (o instanceof List<?> l) {
            b.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    b.append(',');
                }
                value(b, l.get(i));
            }
            b.append(']');
        } else if (o instanceof Map<?, ?> m) {
            List<String> keys = new ArrayList<>(m.size());
            for (Object k : m.keySet()) {
                keys.add(String.valueOf(k));
            }
            keys.sort(FleetListOutput::canonical);
            b.append('{');
            for (int i = 0; i < keys.size(); i++) {
                if (i > 0) {
                    b.append(',');
                }
                string(b, keys.get(i));
                b.append(':');
                value(b, m.get(keys.get(i)));
            }
            b.append('}');
        } else {
            throw new IllegalArgumentException(
                    "not a JSON value: " + o.getClass().getName());
        }
    }

    /** CBOR's canonical order of text keys: shorter UTF-8 first, then bytewise (unsigned). */
    static int canonical(String x, String y) {
        byte[] a = x.getBytes(StandardCharsets.UTF_8);
        byte[] c = y.getBytes(StandardCharsets.UTF_8);
        if (a.length != c.length) {
            return Integer.compare(a.length, c.length);
        }
        return java.util.Arrays.compareUnsigned(a, c);
    }

    /** A JSON string as the CBOR library escapes it (see the class comment). */
    static void string(StringBuilder b, String s) {
        b.append('"');
        int n = s.length();
        int plainFrom = 0;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
                continue;
            }
            String named = escaped(c, s, i);
            if (named == null) {
                continue;
            }
            b.append(s, plainFrom, i).append(named);
            plainFrom = i + 1;
        }
        b.append(s, plainFrom, n).append('"');
    }

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    /** The escape of {@code s[i]}, or null to keep it. */
    private static String escaped(char c, String s, int i) {
        switch (c) {
            case '"':
                return "\\\"";
            case '\\':
                return "\\\\";
            case '\b':
                return "\\b";
            case '\t':
                return "\\t";
            case '\n':
                return "\\n";
            case '\f':
                return "\\f";
            case '\r':
                return "\\r";
            default:
                break;
        }
        boolean escape = c < 0x20
                || (c >= 0x7f && c <= 0xa0)
                || c == 0x2028
                || c == 0x2029
                || c == 0xfeff
                || c == 0xfffe
                || c == 0xffff
                || (Character.isHighSurrogate(c) && (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))))
                || (Character.isLowSurrogate(c) && (i == 0 || !Character.isHighSurrogate(s.charAt(i - 1))));
        if (!escape) {
            return null;
        }
        return new String(new char[] {'\\', 'u', HEX[c >> 12], HEX[(c >> 8) & 15], HEX[(c >> 4) & 15], HEX[c & 15]});
    }
}
