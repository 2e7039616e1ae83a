package dev.prospector.attest;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A command an operator sends to boards (issue 14), published on
 * {@code prospector/v1/<fleet>/<device>/cmd} (or a group's or the fleet's command topic). A tagged
 * COSE_Sign1 signed by the operator's Ed25519 key ({@code kid} = {@link OperatorKey#keyId}),
 * whose payload is the deterministic CBOR map
 *
 * <pre>
 * {"v": 1, "id": tstr, "fleet": tstr, "to": tstr, "name": tstr, "args": map,
 *  "nonce": bstr(16..64), "iat": uint ms, "exp": uint ms}
 * </pre>
 *
 * {@code id} is the operator's name for the command (results name it); {@code to} is
 * {@code device:<id>}, {@code group:<name>} or {@code all}; {@code args} a map with text keys whose
 * values are text, integers, booleans, floats, byte strings, arrays and maps, nested at most
 * {@link #MAX_ARGS_DEPTH} deep. {@code fleet} binds the command to one fleet.
 *
 * <h2>Decoding is strict and bounded</h2>
 * {@link #decode} refuses more than {@link #MAX_BYTES} bytes before reading anything, then takes
 * the envelope as {@link CoseSign1} does (only EdDSA, only this header) and the payload with
 * {@link Cbor}'s deterministic decoder (nesting at most {@link Limits#MAX_CBOR_DEPTH}): exactly
 * these keys, each of its type, nothing else. The signature is checked separately
 * ({@link Decoded#verify}) against the key the receiver looks up by {@code kid}: the receiver
 * decides which keys it obeys.
 */
public record FleetCommand(
        String id,
        String fleet,
        String target,
        String name,
        Cbor.MapValue args,
        byte[] nonce,
        Instant issuedAt,
        Instant expiry) {
    public static final int VERSION = 1;
    /** Largest command accepted; a real one is a few hundred bytes (a set-config a few KiB). */
    public static final int MAX_BYTES = 16 * 1024;
    /** Deepest nesting inside {@code args} (the args map itself is depth 1). */
    public static final int MAX_ARGS_DEPTH = 4;
    /** Most entries of {@code args}, at any depth. */
    public static final int MAX_ARGS_ITEMS = 256;
    /** Longest validity ({@code exp - iat}) a command may ask for. */
    public static final Duration MAX_LIFETIME = Duration.ofDays(1);

    public static final int MIN_NONCE_BYTES = 16;

    /** Command ids and names: short, printable, safe in logs and file names. */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9-]{0,31}");
    private static final Pattern TARGET_NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    private static final Set<String> KEYS = Set.of("v", "id", "fleet", "to", "name", "args", "nonce", "iat", "exp");

    public static final String ALL = "all";
    public static final String DEVICE_PREFIX = "device:";
    public static final String GROUP_PREFIX = "group:";

    public FleetCommand {
        require(
                id != null && ID.matcher(id).matches(),
                "command id '" + id
                        + "' is not valid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
        require(fleet != null && TARGET_NAME.matcher(fleet).matches(), "fleet '" + fleet + "' is not valid");
        require(
                target != null && validTarget(target),
                "target '" + target + "' is not valid: use device:<id>, group:<name> or all");
        require(
                name != null && NAME.matcher(name).matches(),
                "command name '" + name
                        + "' is not valid: use 1-32 lowercase letters, digits or '-', starting with a letter");
        require(
                nonce != null && nonce.length >= MIN_NONCE_BYTES && nonce.length <= Limits.MAX_NONCE_BYTES,
                "a command nonce has " + MIN_NONCE_BYTES + " to " + Limits.MAX_NONCE_BYTES + " bytes");
        require(expiry.isAfter(issuedAt), "a command expires after it is issued");
        require(
                Duration.between(issuedAt, expiry).compareTo(MAX_LIFETIME) <= 0,
                "a command is valid for at most " + MAX_LIFETIME.toHours() + " h");
        String argsProblem = checkArgs(args);
        require(argsProblem == null, String.valueOf(argsProblem));
        nonce = nonce.clone();
        issuedAt = Instant.ofEpochMilli(issuedAt.toEpochMilli());
        expiry = Instant.ofEpochMilli(expiry.toEpochMilli());
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** True for {@code device:<id>}, {@code group:<name>} and {@code all}. */
    public static boolean validTarget(String target) {
        if (ALL.equals(target)) {
            return true;
        }
        if (target.startsWith(DEVICE_PREFIX)) {
            return DeviceId.isValid(target.substring(DEVICE_PREFIX.length()));
        }
        return target.startsWith(GROUP_PREFIX)
                && TARGET_NAME.matcher(target.substring(GROUP_PREFIX.length())).matches();
    }

    @Override
    public byte[] nonce() {
        return nonce.clone();
    }

    /** The payload: the deterministic CBOR map above. */
    public byte[] encodePayload() {
        return Cbor.encode(Cbor.map()
                .put("v", new Cbor.Int(VERSION))
                .put("id", new Cbor.Text(id))
                .put("fleet", new Cbor.Text(fleet))
                .put("to", new Cbor.Text(target))
                .put("name", new Cbor.Text(name))
                .put("args", args)
                .put("nonce", new Cbor.Bytes(nonce))
                .put("iat", new Cbor.Int(issuedAt.toEpochMilli()))
                .put("exp", new Cbor.Int(expiry.toEpochMilli()))
                .build());
    }

    /** The command as published: a tagged COSE_Sign1 signed by {@code key}. */
    public byte[] sign(OperatorKey key) {
        byte[] bytes = key.signCose(encodePayload());
        if (bytes.length > MAX_BYTES) {
            throw new IllegalArgumentException("command of " + bytes.length + " bytes exceeds the limit of " + MAX_BYTES
                    + "; send smaller arguments");
        }
        return bytes;
    }

    /** A decoded command, its signature not yet checked. */
    public record Decoded(FleetCommand command, CoseSign1.Parts cose, byte[] hash) {
        /** The kid: the id of the operator key that claims to have signed it. */
        public byte[] keyId() {
            return cose.kid();
        }

        /** True if signed by {@code rawPublicKey}. */
        public boolean verify(byte[] rawPublicKey) {
            return cose.verify(rawPublicKey);
        }
    }

    /** The envelope only, for a receiver that looks up the key before reading the payload. */
    public static CoseSign1.Parts envelope(byte[] bytes) throws MalformedReportException {
        if (bytes.length == 0) {
            throw new MalformedReportException("empty message");
        }
        if (bytes.length > MAX_BYTES) {
            throw new MalformedReportException(
                    "command of " + bytes.length + " bytes exceeds the limit of " + MAX_BYTES);
        }
        var parts = CoseSign1.decode(bytes);
        if (parts.kid().length != OperatorKey.KEY_ID_BYTES) {
            throw new MalformedReportException(
                    "kid is not an operator key id of " + OperatorKey.KEY_ID_BYTES + " bytes");
        }
        return parts;
    }

    /** Decodes a command strictly (see above); its signature is checked by {@link Decoded#verify}. */
    public static Decoded decode(byte[] bytes) throws MalformedReportException {
        var parts = envelope(bytes);
        return new Decoded(payload(parts.payload()), parts, Sha256.of(bytes));
    }

    /** Decodes a payload strictly. */
    public static FleetCommand payload(byte[] payload) throws MalformedReportException {
        if (!(Cbor.decode(payload) instanceof Cbor.MapValue m)) {
            throw new MalformedReportException("command payload is not a CBOR map");
        }
        if (m.entries().size() != KEYS.size()) {
            throw new MalformedReportException("command payload does not have exactly the keys " + KEYS);
        }
        for (var e : m.entries()) {
            if (!(e.key() instanceof Cbor.Text t) || !KEYS.contains(t.value())) {
                throw new MalformedReportException("command payload has an unknown key");
            }
        }
        if (Claims.uint(m, "v") != VERSION) {
            throw new MalformedReportException("command version is not " + VERSION);
        }
        if (!(m.get("args").orElse(null) instanceof Cbor.MapValue args)) {
            throw new MalformedReportException("command args is not a map");
        }
        try {
            return new FleetCommand(
                    Claims.text(m, "id"),
                    Claims.text(m, "fleet"),
                    Claims.text(m, "to"),
                    Claims.text(m, "name"),
                    args,
                    Claims.bytes(m, "nonce", MIN_NONCE_BYTES, Limits.MAX_NONCE_BYTES),
                    Instant.ofEpochMilli(Claims.uint(m, "iat")),
                    Instant.ofEpochMilli(Claims.uint(m, "exp")));
        } catch (IllegalArgumentException | java.time.DateTimeException e) {
            throw new MalformedReportException(e.getMessage());
        }
    }

    /** Why {@code args} is not acceptable, or null. */
    private static String checkArgs(Cbor.MapValue args) {
        int[] items = {0};
        return checkValue(args, 1, items);
    }

    private static String checkValue(Cbor.Value v, int depth, int[] items) {
        if (++items[0] > MAX_ARGS_ITEMS) {
            return "command args hold more than " + MAX_ARGS_ITEMS + " items";
        }
        if (depth > MAX_ARGS_DEPTH) {
            return "command args are nested deeper than " + MAX_ARGS_DEPTH;
        }
        if (v instanceof Cbor.MapValue m) {
            for (var e : m.entries()) {
                if (!(e.key() instanceof Cbor.Text t) || t.value().length() > Limits.MAX_TEXT_BYTES) {
                    return "command args map keys must be short text strings";
                }
                String inner = checkValue(e.value(), depth + 1, items);
                if (inner != null) {
                    return inner;
                }
            }
            return null;
        }
        if (depth == 1) {
            return "command args is not a map";
        }
        if (v instanceof Cbor.Array a) {
            for (var item : a.items()) {
                String inner = checkValue(item, depth + 1, items);
                if (inner != null) {
                    return inner;
                }
            }
            return null;
        }
        if (v instanceof Cbor.Tagged || v instanceof Cbor.Null) {
            return "command args hold a tag or null, which no command takes";
        }
        return null;
    }

    // ------------------------------------------------------------------ plain values

    /** Args as plain Java values: String, Long, Boolean, Double, byte[], List, Map<String, Object>. */
    public Map<String, Object> plainArgs() {
        @SuppressWarnings("unchecked")
        var m = (Map<String, Object>) plain(args);
        return m;
    }

    /** A CBOR value as a plain Java value (see {@link #plainArgs}). */
    public static Object plain(Cbor.Value v) {
        if (v instanceof Cbor.Int i) {
            return i.value();
        } else if (v instanceof Cbor.Text t) {
            return t.value();
        } else if (v instanceof Cbor.Bool b) {
            return b.value();
        } else if (v instanceof Cbor.Float f) {
            return f.value();
        } else if (v instanceof Cbor.Bytes b) {
            return b.value().clone();
        } else if (v instanceof Cbor.Array a) {
            var out = new ArrayList<Object>();
            for (var item : a.items()) {
                out.add(plain(item));
            }
            return out;
        } else if (v instanceof Cbor.MapValue m) {
            var out = new LinkedHashMap<String, Object>();
            for (var e : m.entries()) {
                out.put(e.key() instanceof Cbor.Text t ? t.value() : String.valueOf(plain(e.key())), plain(e.value()));
            }
            return out;
        }
        return null;
    }

    /** A plain Java value (as {@link #plain} gives, also Integer) as CBOR. */
    public static Cbor.Value cbor(Object o) {
        if (o instanceof Cbor.Value v) {
            return v;
        } else if (o instanceof String s) {
            return new Cbor.Text(s);
        } else if (o instanceof Long || o instanceof Integer || o instanceof Short || o instanceof Byte) {
            return new Cbor.Int(((Number) o).longValue());
        } else if (o instanceof Boolean b) {
            return new Cbor.Bool(b);
        } else if (o instanceof Double || o instanceof java.lang.Float) {
            return new Cbor.Float(((Number) o).doubleValue());
        } else if (o instanceof byte[] b) {
            return new Cbor.Bytes(b.clone());
        } else if (o instanceof List<?> l) {
            var items = new ArrayList<Cbor.Value>();
            for (Object item : l) {
                items.add(cbor(item));
            }
            return new Cbor.Array(items);
        } else if (o instanceof Map<?, ?> m) {
            var b = Cbor.map();
            for (var e : m.entrySet()) {
                b.put(String.valueOf(e.getKey()), cbor(e.getValue()));
            }
            return b.build();
        } else if (o == null) {
            return new Cbor.Null();
        }
        return new Cbor.Text(o.toString());
    }

    /** Plain values as a CBOR map. */
    public static Cbor.MapValue cborMap(Map<String, ?> map) {
        return (Cbor.MapValue) cbor(map);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FleetCommand c && Arrays.equals(encodePayload(), c.encodePayload());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(encodePayload());
    }

    @Override
    public String toString() {
        return "FleetCommand[" + id + " " + name + " to " + target + "]";
    }

    static String ascii(byte[] b) {
        return new String(b, StandardCharsets.US_ASCII);
    }
}
