package dev.prospector.agent.console;

import dev.prospector.attest.DeviceId;
import dev.prospector.attest.Hex;
import dev.prospector.attest.KeyRotation;
import dev.prospector.attest.MalformedReportException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the console knows of one device from the broker's retained messages: its birth/will on
 * {@code <device>/state} and its compact state on {@code <device>/summary}. Neither is signed (a
 * board publishes them before anyone could check), so the console uses the key in a birth only if
 * it hashes to the device id, or the rotation chain in the birth leads to it from the key that
 * does: then a forged birth cannot make a forged result verify.
 */
public record DeviceView(
        String device,
        boolean online,
        Optional<Instant> lastSeen,
        String version,
        String board,
        Optional<byte[]> key,
        String keyProblem,
        List<String> groups,
        Optional<Map<String, Object>> summary) {

    /** A view with nothing but the device id. */
    static DeviceView of(String device) {
        return new DeviceView(
                device,
                false,
                Optional.empty(),
                "",
                "",
                Optional.empty(),
                "no birth message",
                List.of(),
                Optional.empty());
    }

    /** This view with a (JSON) birth or will message. */
    DeviceView withState(byte[] json) {
        Map<String, Object> o = object(json);
        if (o == null) {
            return this;
        }
        boolean isOnline = Boolean.TRUE.equals(o.get("online"));
        if (!isOnline) {
            return new DeviceView(device, false, lastSeen, version, board, key, keyProblem, groups, summary);
        }
        Optional<Instant> seen = time(o.get("time")).or(() -> lastSeen);
        String v = text(o, "version", version);
        String b = text(o, "board", board);
        Optional<byte[]> k = Optional.empty();
        String problem = "";
        try {
            byte[] current = Hex.decode(text(o, "key_hex", ""));
            List<KeyRotation> rotations = new ArrayList<>();
            if (o.get("rot") instanceof List<?> rot) {
                for (int i = 0; i < rot.size(); i++) {
                    var r = KeyRotation.decode(Base64.getDecoder().decode(String.valueOf(rot.get(i))));
                    if (!r.verifySignature()) {
                        throw new MalformedReportException("rotation " + (i + 1) + " has a bad signature");
                    }
                    rotations.add(r);
                }
            }
            KeyRotation.checkChain(rotations);
            byte[] first = rotations.isEmpty() ? current : rotations.get(0).oldKey();
            byte[] last = rotations.isEmpty()
                    ? current
                    : rotations.get(rotations.size() - 1).newKey();
            if (current.length != 32 || !DeviceId.of(first).value().equals(device) || !Arrays.equals(last, current)) {
                problem = "the birth's key does not belong to device " + device;
            } else {
                k = Optional.of(current);
            }
        } catch (RuntimeException | MalformedReportException e) {
            problem = "the birth's key is unreadable: " + e.getMessage();
        }
        return new DeviceView(device, true, seen, v, b, k, problem, groups, summary);
    }

    /** This view with a (JSON) compact state message. */
    DeviceView withSummary(byte[] json) {
        Map<String, Object> o = object(json);
        if (o == null) {
            return this;
        }
        List<String> g = new ArrayList<>();
        if (o.get("groups") instanceof List<?> gs) {
            for (Object x : gs) {
                if (x instanceof String text) {
                    g.add(text);
                }
            }
        }
        Optional<Instant> t = time(o.get("time"));
        Optional<Instant> seen =
                t.isPresent() && (lastSeen.isEmpty() || t.get().isAfter(lastSeen.get())) ? t : lastSeen;
        return new DeviceView(
                device,
                online,
                seen,
                text(o, "version", version),
                board,
                key,
                keyProblem,
                List.copyOf(g),
                Optional.of(o));
    }

    /** "accepted", "rejected: REASON detail" or "" from the compact state's last receipt. */
    public String lastReport() {
        if (summary.isEmpty() || !(summary.get().get("last_receipt") instanceof Map<?, ?> r)) {
            return "";
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> receipt = (Map<String, Object>) r;
        boolean ok = Boolean.TRUE.equals(receipt.get("ok"));
        return ok
                ? "accepted"
                : ("rejected: " + text(receipt, "reason", "") + " " + text(receipt, "detail", "")).strip();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> object(byte[] json) {
        try {
            return MiniJson.parse(json) instanceof Map<?, ?> m ? (Map<String, Object>) m : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static Optional<Instant> time(Object o) {
        if (!(o instanceof String s)) {
            return Optional.empty();
        }
        try {
            return Optional.of(fastInstant(s));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * {@code 2026-12-01T15:47:01.618597041Z} (what {@link Instant#toString()} writes) read by hand:
     * {@link Instant#parse} costs tens of microseconds a call, and a console reads two per device.
     * Anything else goes to {@link Instant#parse}.
     */
    static Instant fastInstant(String s) {
        int n = s.length();
        if (n < 20
                || s.charAt(4) != '-'
                || s.charAt(7) != '-'
                || s.charAt(10) != 'T'
                || s.charAt(13) != ':'
                || s.charAt(16) != ':'
                || s.charAt(n - 1) != 'Z') {
            return Instant.parse(s);
        }
        long nanos = 0;
        if (n > 20) {
            if (s.charAt(19) != '.' || n - 21 > 9 || n - 21 < 1) {
                return Instant.parse(s);
            }
            for (int i = 20; i < n - 1; i++) {
                nanos = nanos * 10 + digit(s, i);
            }
            for (int i = n - 21; i < 9; i++) {
                nanos *= 10;
            }
        }
        long days = java.time.LocalDate.of(digits(s, 0, 4), digits(s, 5, 2), digits(s, 8, 2))
                .toEpochDay();
        long seconds = days * 86_400 + digits(s, 11, 2) * 3600L + digits(s, 14, 2) * 60L + digits(s, 17, 2);
        return Instant.ofEpochSecond(seconds, nanos);
    }

    private static int digits(String s, int from, int count) {
        int v = 0;
        for (int i = from; i < from + count; i++) {
            v = v * 10 + digit(s, i);
        }
        return v;
    }

    private static int digit(String s, int i) {
        char c = s.charAt(i);
        if (c < '0' || c > '9') {
            throw new java.time.format.DateTimeParseException("not a digit", s, i);
        }
        return c - '0';
    }

    private static String text(Map<String, Object> o, String key, String fallback) {
        return o.get(key) instanceof String s ? s : fallback;
    }
}
