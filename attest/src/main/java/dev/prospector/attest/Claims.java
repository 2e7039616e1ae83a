package dev.prospector.attest;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The claims of a report: the payload of its COSE_Sign1, a deterministic CBOR map with text keys.
 * docs/EVIDENCE.md describes each claim; the keys are the constants below. Byte arrays are owned
 * by the record: treat them as read-only. Two claims are equal when their encodings are.
 *
 * <p>The constructor enforces the format's invariants (lengths, ranges, the device id being the
 * hash of the first key, the rotation chain ending at {@code key}, {@code restart} present exactly
 * when {@code prev} is absent), so a decoded {@code Claims} is always well-formed.
 */
public record Claims(
        DeviceId device,
        byte[] key,
        String fleet,
        long seq,
        Optional<byte[]> prev,
        byte[] chain,
        Instant iat,
        long epoch,
        Optional<byte[]> nonce,
        String bootId,
        Duration uptime,
        List<Measurement> measurements,
        String softwareVersion,
        byte[] configHash,
        Optional<String> restart,
        List<KeyRotation> rotations,
        long lost,
        boolean emulated,
        Optional<ServiceEvidence> service) {

    /** The claims of a report without proof-of-service evidence (claim {@code pos} absent). */
    public Claims(
            DeviceId device,
            byte[] key,
            String fleet,
            long seq,
            Optional<byte[]> prev,
            byte[] chain,
            Instant iat,
            long epoch,
            Optional<byte[]> nonce,
            String bootId,
            Duration uptime,
            List<Measurement> measurements,
            String softwareVersion,
            byte[] configHash,
            Optional<String> restart,
            List<KeyRotation> rotations,
            long lost,
            boolean emulated) {
        this(
                device,
                key,
                fleet,
                seq,
                prev,
                chain,
                iat,
                epoch,
                nonce,
                bootId,
                uptime,
                measurements,
                softwareVersion,
                configHash,
                restart,
                rotations,
                lost,
                emulated,
                Optional.empty());
    }

    /** The claims of a device that has lost no report ({@code lost} = 0, the claim absent). */
    public Claims(
            DeviceId device,
            byte[] key,
            String fleet,
            long seq,
            Optional<byte[]> prev,
            byte[] chain,
            Instant iat,
            long epoch,
            Optional<byte[]> nonce,
            String bootId,
            Duration uptime,
            List<Measurement> measurements,
            String softwareVersion,
            byte[] configHash,
            Optional<String> restart,
            List<KeyRotation> rotations) {
        this(
                device,
                key,
                fleet,
                seq,
                prev,
                chain,
                iat,
                epoch,
                nonce,
                bootId,
                uptime,
                measurements,
                softwareVersion,
                configHash,
                restart,
                rotations,
                0,
                false);
    }

    /** The claims of a board that is not emulated (claim {@code emulated} absent). */
    public Claims(
            DeviceId device,
            byte[] key,
            String fleet,
            long seq,
            Optional<byte[]> prev,
            byte[] chain,
            Instant iat,
            long epoch,
            Optional<byte[]> nonce,
            String bootId,
            Duration uptime,
            List<Measurement> measurements,
            String softwareVersion,
            byte[] configHash,
            Optional<String> restart,
            List<KeyRotation> rotations,
            long lost) {
        this(
                device,
                key,
                fleet,
                seq,
                prev,
                chain,
                iat,
                epoch,
                nonce,
                bootId,
                uptime,
                measurements,
                softwareVersion,
                configHash,
                restart,
                rotations,
                lost,
                false);
    }

    /** Format version, claim {@code v}. */
    public static final int VERSION = 1;

    public static final String V = "v";
    public static final String DEVICE = "dev";
    public static final String KEY = "key";
    public static final String FLEET = "fleet";
    public static final String SEQ = "seq";
    public static final String PREV = "prev";
    public static final String CHAIN = "chain";
    public static final String IAT = "iat";
    public static final String EPOCH = "epoch";
    public static final String NONCE = "nonce";
    public static final String BOOT = "boot";
    public static final String UPTIME = "up";
    public static final String MEASUREMENTS = "meas";
    public static final String SOFTWARE = "sw";
    public static final String CONFIG = "cfg";
    public static final String RESTART = "restart";
    public static final String ROTATIONS = "rot";
    /** Reports of this chain the device dropped unsent (its outbox was full), in total; absent when 0. */
    public static final String LOST = "lost";
    /**
     * The report was made on an emulated board (tests, the demo): {@code true}, or absent for a
     * real board. Verifiers refuse such reports ({@code emulated}) unless told to accept them.
     */
    public static final String EMULATED = "emulated";
    /**
     * Proof-of-service evidence ({@link ServiceEvidence}): the committed plot, an audit answer,
     * bandwidth receipts, the agent's run start. A byte string holding a CBOR map; absent when empty.
     */
    public static final String SERVICE = "pos";

    public static final String M_NAME = "name";
    public static final String M_VALUE = "value";
    public static final String M_UNIT = "unit";
    public static final String M_SOURCE = "source";
    public static final String M_UNAVAILABLE = "unavailable";

    /** Length of {@code chain}. */
    public static final int CHAIN_ID_BYTES = 16;
    /** Length of {@code prev} and {@code cfg} (SHA-256). */
    public static final int HASH_BYTES = Sha256.BYTES;

    public Claims {
        require(key.length == 32, "key must be 32 bytes");
        checkText("fleet", fleet, false);
        require(seq >= 1, "seq must be at least 1");
        prev.ifPresent(p -> require(p.length == HASH_BYTES, "prev must be 32 bytes"));
        require(chain.length == CHAIN_ID_BYTES, "chain must be 16 bytes");
        require(iat.toEpochMilli() >= 0 && iat.getNano() % 1_000_000 == 0, "iat must be whole milliseconds after 1970");
        require(epoch >= 0, "epoch must not be negative");
        nonce.ifPresent(n -> require(
                n.length >= 1 && n.length <= Limits.MAX_NONCE_BYTES,
                "nonce must be 1 to " + Limits.MAX_NONCE_BYTES + " bytes"));
        checkText("boot id", bootId, false);
        require(
                !uptime.isNegative() && uptime.getNano() % 1_000_000 == 0,
                "uptime must be whole, non-negative milliseconds");
        measurements = List.copyOf(measurements);
        require(measurements.size() <= Limits.MAX_MEASUREMENTS, "at most " + Limits.MAX_MEASUREMENTS + " measurements");
        checkText("software version", softwareVersion, false);
        require(configHash.length == HASH_BYTES, "cfg must be 32 bytes");
        restart.ifPresent(r -> checkText("restart", r, false));
        require(restart.isPresent() != prev.isPresent(), "restart must be present exactly when prev is absent");
        require((seq == 1) == prev.isEmpty(), "prev must be absent exactly on seq 1, the first report of a chain");
        require(lost >= 0 && lost < seq, "lost must be 0 to seq - 1");
        rotations = List.copyOf(rotations);
        try {
            KeyRotation.checkChain(rotations);
        } catch (MalformedReportException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
        byte[] firstKey = rotations.isEmpty() ? key : rotations.get(0).oldKey();
        require(DeviceId.of(firstKey).equals(device), "dev must be the device id of the first key");
        require(
                rotations.isEmpty()
                        || Arrays.equals(rotations.get(rotations.size() - 1).newKey(), key),
                "the last key rotation must name key");
    }

    /** The first report of a chain: no {@code prev}, a {@code restart} reason. */
    public boolean startsChain() {
        return prev.isEmpty();
    }

    static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }

    static void checkText(String what, String value, boolean allowEmpty) {
        // Hot on the verifier's path: build messages only when throwing.
        if (value == null) {
            throw new IllegalArgumentException(what + " is missing");
        }
        int n = value.length();
        if (!allowEmpty && n == 0) {
            throw new IllegalArgumentException(what + " must not be empty");
        }
        if (Cbor.isPlainText(value)) {
            return; // the decoder already saw every byte of this very String: printable ASCII, short
        }
        int utf8 = 0;
        for (int i = 0; i < n; i++) {
            char c = value.charAt(i);
            if (c < 0x80) {
                if (c < 0x20 || c == 0x7f) {
                    throw new IllegalArgumentException(what + " contains a control character");
                }
                utf8++;
            } else {
                if (Character.isISOControl(c)) {
                    throw new IllegalArgumentException(what + " contains a control character");
                }
                utf8 += c < 0x800 ? 2 : Character.isSurrogate(c) ? 2 : 3; // a surrogate pair is 4
            }
        }
        if (utf8 > Limits.MAX_TEXT_BYTES) {
            throw new IllegalArgumentException(what + " is longer than " + Limits.MAX_TEXT_BYTES + " bytes");
        }
    }

    // ---------------------------------------------------------------- encoding

    /** The deterministic CBOR encoding of these claims: the report's payload. */
    public byte[] encode() {
        var m = Cbor.map()
                .put(V, new Cbor.Int(VERSION))
                .put(DEVICE, new Cbor.Text(device.value()))
                .put(KEY, new Cbor.Bytes(key))
                .put(FLEET, new Cbor.Text(fleet))
                .put(SEQ, new Cbor.Int(seq))
                .put(CHAIN, new Cbor.Bytes(chain))
                .put(IAT, new Cbor.Int(iat.toEpochMilli()))
                .put(EPOCH, new Cbor.Int(epoch))
                .put(BOOT, new Cbor.Text(bootId))
                .put(UPTIME, new Cbor.Int(uptime.toMillis()))
                .put(MEASUREMENTS, encodeMeasurements())
                .put(SOFTWARE, new Cbor.Text(softwareVersion))
                .put(CONFIG, new Cbor.Bytes(configHash));
        prev.ifPresent(p -> m.put(PREV, new Cbor.Bytes(p)));
        nonce.ifPresent(n -> m.put(NONCE, new Cbor.Bytes(n)));
        restart.ifPresent(r -> m.put(RESTART, new Cbor.Text(r)));
        if (lost > 0) {
            m.put(LOST, new Cbor.Int(lost));
        }
        if (emulated) {
            m.put(EMULATED, new Cbor.Bool(true));
        }
        service.ifPresent(e -> m.put(SERVICE, new Cbor.Bytes(e.encode())));
        if (!rotations.isEmpty()) {
            var items = new ArrayList<Cbor.Value>();
            rotations.forEach(r -> items.add(new Cbor.Bytes(r.bytes())));
            m.put(ROTATIONS, new Cbor.Array(items));
        }
        return Cbor.encode(m.build());
    }

    private Cbor.Array encodeMeasurements() {
        var items = new ArrayList<Cbor.Value>(measurements.size());
        for (var meas : measurements) {
            if (meas instanceof MeasurementClaim c) {
                items.add(Cbor.map()
                        .put(M_NAME, new Cbor.Text(c.name()))
                        .put(M_VALUE, new Cbor.Float(c.value()))
                        .put(M_UNIT, new Cbor.Text(c.unit()))
                        .put(M_SOURCE, new Cbor.Text(c.source()))
                        .build());
            } else if (meas instanceof UnavailableMeasurement u) {
                items.add(Cbor.map()
                        .put(M_NAME, new Cbor.Text(u.name()))
                        .put(M_UNAVAILABLE, new Cbor.Text(u.reason()))
                        .build());
            }
        }
        return new Cbor.Array(items);
    }

    // ---------------------------------------------------------------- decoding

    /** Decodes a payload, rejecting anything not deterministic, unknown, missing or out of range. */
    public static Claims decode(byte[] payload) throws MalformedReportException {
        return decode(payload, 0, payload.length);
    }

    /** As {@link #decode(byte[])}, for the payload at {@code bytes[from, to)}. */
    static Claims decode(byte[] bytes, int from, int to) throws MalformedReportException {
        try {
            return decodeStrict(bytes, from, to);
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new MalformedReportException("invalid claims: " + e.getMessage());
        }
    }

    /**
     * The claim names in deterministic order (of their encodings), and those encodings: the keys of
     * a payload appear in this order, so each key is looked for from just after the previous one.
     */
    private static final List<String> NAMES = java.util.stream.Stream.of(
                    V,
                    DEVICE,
                    KEY,
                    FLEET,
                    SEQ,
                    PREV,
                    CHAIN,
                    IAT,
                    EPOCH,
                    NONCE,
                    BOOT,
                    UPTIME,
                    MEASUREMENTS,
                    SOFTWARE,
                    CONFIG,
                    RESTART,
                    ROTATIONS,
                    LOST,
                    EMULATED,
                    SERVICE)
            .sorted((a, b) -> Arrays.compareUnsigned(Cbor.encode(new Cbor.Text(a)), Cbor.encode(new Cbor.Text(b))))
            .toList();

    private static final Cbor.Key[] KEYS = NAMES.stream().map(Cbor.Key::text).toArray(Cbor.Key[]::new);

    private static Claims decodeStrict(byte[] payload, int from, int to) throws MalformedReportException {
        // Streamed in one pass straight into typed values (this runs once per appraisal): the same
        // strict rules as Cbor.decode, without building a tree or wrapping each value.
        var r = new Cbor.Reader(payload, from, to);
        int n = r.containerHeader(5, "payload");
        var seen = new boolean[NAMES.size()];
        long version = -1;
        String dev = null;
        byte[] key = null;
        String fleet = null;
        long seq = -1;
        byte[] prev = null;
        byte[] chain = null;
        long iat = -1;
        long epoch = -1;
        byte[] nonce = null;
        String boot = null;
        long up = -1;
        List<Measurement> meas = null;
        String sw = null;
        byte[] cfg = null;
        String restart = null;
        var rotations = new ArrayList<KeyRotation>();
        long lost = 0;
        boolean emulated = false;
        ServiceEvidence service = null;
        int next = 0; // index in KEYS where the next key is looked for
        for (int i = 0; i < n; i++) {
            int keyStart = r.pos;
            int k = r.key(KEYS, next);
            if (k < 0) {
                if (r.key(KEYS, 0) >= 0) {
                    throw new MalformedReportException(
                            "map keys not in deterministic order (or duplicated) at byte " + r.at(keyStart));
                }
                throw new MalformedReportException("unknown claim " + r.item(1));
            }
            next = k + 1;
            seen[k] = true;
            String name = NAMES.get(k);
            String notUint = NOT_UINT_BY_INDEX[k];
            String notText = NOT_TEXT_BY_INDEX[k];
            switch (name) {
                case V -> version = r.uint(notUint);
                case DEVICE -> dev = r.repeatedText(notText);
                case KEY -> key = r.bytes(NOT_KEY, 32, 32);
                case FLEET -> fleet = r.repeatedText(notText);
                case SEQ -> seq = r.uint(notUint);
                case PREV -> prev = r.bytes(NOT_PREV, HASH_BYTES, HASH_BYTES);
                case CHAIN -> chain = r.bytes(NOT_CHAIN, CHAIN_ID_BYTES, CHAIN_ID_BYTES);
                case IAT -> iat = r.uint(notUint);
                case EPOCH -> epoch = r.uint(notUint);
                case NONCE -> nonce = r.bytes(NOT_NONCE, 1, Limits.MAX_NONCE_BYTES);
                case BOOT -> boot = r.repeatedText(notText);
                case UPTIME -> up = r.uint(notUint);
                case MEASUREMENTS -> meas = decodeMeasurements(r);
                case SOFTWARE -> sw = r.repeatedText(notText);
                case CONFIG -> cfg = r.bytes(NOT_CONFIG, HASH_BYTES, HASH_BYTES);
                case RESTART -> restart = r.text(notText);
                case ROTATIONS -> {
                    int count = r.containerHeader(4, "rot");
                    if (count == 0 || count > Limits.MAX_ROTATIONS) {
                        throw new MalformedReportException(
                                "rot must be an array of 1 to " + Limits.MAX_ROTATIONS + " byte strings");
                    }
                    for (int j = 0; j < count; j++) {
                        rotations.add(KeyRotation.decode(r.bytes("rot must hold byte strings", 0, Integer.MAX_VALUE)));
                    }
                }
                case LOST -> lost = positive(r.uint(notUint), name);
                case EMULATED -> emulated = onlyTrue(r.bool(NOT_EMULATED));
                case SERVICE -> service = ServiceEvidence.decode(r.bytes(NOT_SERVICE, 1, Limits.MAX_REPORT_BYTES));
                default -> throw new AssertionError(name);
            }
        }
        r.finish();
        for (int i = 0; i < seen.length; i++) {
            if (!seen[i] && REQUIRED.contains(NAMES.get(i))) {
                throw new MalformedReportException(missing(NAMES.get(i)));
            }
        }
        if (version != VERSION) {
            throw new MalformedReportException(
                    "unsupported report version " + version + " (this program reads version " + VERSION + ")");
        }
        if (!DeviceId.isValid(dev)) {
            throw new MalformedReportException("dev is not a device id: " + dev);
        }
        try {
            return new Claims(
                    new DeviceId(dev),
                    key,
                    fleet,
                    seq,
                    Optional.ofNullable(prev),
                    chain,
                    Instant.ofEpochMilli(iat),
                    epoch,
                    Optional.ofNullable(nonce),
                    boot,
                    Duration.ofMillis(up),
                    meas,
                    sw,
                    cfg,
                    Optional.ofNullable(restart),
                    rotations,
                    lost,
                    emulated,
                    Optional.ofNullable(service));
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new MalformedReportException("invalid claims: " + e.getMessage());
        }
    }

    /** Claims every report has; the others are optional. */
    private static final java.util.Set<String> REQUIRED = java.util.Set.of(
            V, DEVICE, KEY, FLEET, SEQ, CHAIN, IAT, EPOCH, BOOT, UPTIME, MEASUREMENTS, SOFTWARE, CONFIG);

    // Error sentences, one per claim (by its index in NAMES) and type: built once, not per report.
    private static final String[] NOT_UINT_BY_INDEX = messages("is missing or not an unsigned integer");
    private static final String[] NOT_TEXT_BY_INDEX = messages("is missing or not a text string");

    private static String[] messages(String tail) {
        return NAMES.stream().map(name -> "claim " + name + " " + tail).toArray(String[]::new);
    }

    private static final String NOT_KEY = notBytes(KEY, 32, 32);
    private static final String NOT_PREV = notBytes(PREV, HASH_BYTES, HASH_BYTES);
    private static final String NOT_CHAIN = notBytes(CHAIN, CHAIN_ID_BYTES, CHAIN_ID_BYTES);
    private static final String NOT_NONCE = notBytes(NONCE, 1, Limits.MAX_NONCE_BYTES);
    private static final String NOT_CONFIG = notBytes(CONFIG, HASH_BYTES, HASH_BYTES);

    private static String notBytes(String name, int min, int max) {
        return "claim " + name + " is not a byte string of " + (min == max ? min : min + " to " + max) + " bytes";
    }

    private static String missing(String name) {
        return name.equals(MEASUREMENTS) ? "claim meas is missing or not an array" : "claim " + name + " is missing";
    }

    /** An optional count present only when non-zero: an explicit 0 is not the deterministic form. */
    private static long positive(long value, String key) throws MalformedReportException {
        if (value == 0) {
            throw new MalformedReportException(
                    "claim " + key + " is 0: a zero count is encoded by leaving the claim out");
        }
        return value;
    }

    private static final String NOT_EMULATED = "claim emulated is not a boolean";
    private static final String NOT_SERVICE = "claim pos is not a byte string";

    /** An optional flag present only when true: an explicit false is not the deterministic form. */
    private static boolean onlyTrue(boolean value) throws MalformedReportException {
        if (!value) {
            throw new MalformedReportException(
                    "claim emulated is false: a board that is not emulated leaves the claim out");
        }
        return true;
    }

    /** A measurement map of 4 entries and its first key, "name"; and of 2 entries. */
    private static final Cbor.Key VALUE_HEAD = Cbor.Key.of(concat((byte) 0xa4, Cbor.encode(new Cbor.Text(M_NAME))));

    private static final Cbor.Key UNAVAILABLE_HEAD =
            Cbor.Key.of(concat((byte) 0xa2, Cbor.encode(new Cbor.Text(M_NAME))));
    private static final Cbor.Key KEY_UNIT = Cbor.Key.text(M_UNIT);

    private static byte[] concat(byte head, byte[] rest) {
        byte[] out = new byte[rest.length + 1];
        out[0] = head;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }

    private static final Cbor.Key KEY_VALUE = Cbor.Key.text(M_VALUE);
    private static final Cbor.Key KEY_SOURCE = Cbor.Key.text(M_SOURCE);
    private static final Cbor.Key KEY_UNAVAILABLE = Cbor.Key.text(M_UNAVAILABLE);

    /**
     * Reads the {@code meas} array. Each element must be exactly {@code {name, unit, value, source}}
     * or {@code {name, unavailable}} with its keys in that (deterministic) order.
     */
    private static List<Measurement> decodeMeasurements(Cbor.Reader r) throws MalformedReportException {
        int n = r.containerHeader(4, "claim meas");
        if (n > Limits.MAX_MEASUREMENTS) {
            throw new MalformedReportException("more than " + Limits.MAX_MEASUREMENTS + " measurements");
        }
        var out = new Measurement[n];
        for (int i = 0; i < n; i++) {
            // The map head and the "name" key together, as one key: a4 64 'name' (or a2 64 'name').
            if (r.tryKey(VALUE_HEAD)) {
                String name = r.repeatedText(NAME_NOT_TEXT);
                if (!r.tryKey(KEY_UNIT)) {
                    throw new MalformedReportException(
                            "a measurement must be {name, unit, value, source} in this order");
                }
                String unit = r.repeatedText(UNIT_NOT_TEXT);
                if (!r.tryKey(KEY_VALUE)) {
                    throw new MalformedReportException("measurement value is missing or not a float");
                }
                double value = r.floatValue("measurement value is missing or not a float");
                if (!r.tryKey(KEY_SOURCE)) {
                    throw new MalformedReportException(
                            "a measurement must be {name, unit, value, source} in this order");
                }
                out[i] = new MeasurementClaim(name, value, unit, r.repeatedText(SOURCE_NOT_TEXT));
            } else if (r.tryKey(UNAVAILABLE_HEAD)) {
                String name = r.repeatedText(NAME_NOT_TEXT);
                if (!r.tryKey(KEY_UNAVAILABLE)) {
                    throw new MalformedReportException(
                            "a measurement must be {name, unit, value, source} or {name, unavailable}");
                }
                out[i] = new UnavailableMeasurement(name, r.repeatedText(UNAVAILABLE_NOT_TEXT));
            } else {
                r.containerHeader(5, "a measurement"); // says so if it is not a map at all
                throw new MalformedReportException(
                        "a measurement must be {name, unit, value, source} or {name, unavailable}");
            }
        }
        return List.of(out);
    }

    private static final String NAME_NOT_TEXT = "measurement name is not a text string";
    private static final String UNIT_NOT_TEXT = "measurement unit is not a text string";
    private static final String SOURCE_NOT_TEXT = "measurement source is not a text string";
    private static final String UNAVAILABLE_NOT_TEXT = "measurement unavailable is not a text string";

    static long uint(Cbor.MapValue m, String key) throws MalformedReportException {
        if (!(m.get(key).orElse(null) instanceof Cbor.Int i) || i.value() < 0) {
            throw new MalformedReportException("claim " + key + " is missing or not an unsigned integer");
        }
        return i.value();
    }

    static String text(Cbor.MapValue m, String key) throws MalformedReportException {
        if (!(m.get(key).orElse(null) instanceof Cbor.Text t)) {
            throw new MalformedReportException("claim " + key + " is missing or not a text string");
        }
        return t.value();
    }

    static byte[] bytes(Cbor.MapValue m, String key, int min, int max) throws MalformedReportException {
        if (!(m.get(key).orElse(null) instanceof Cbor.Bytes b) || b.value().length < min || b.value().length > max) {
            throw new MalformedReportException("claim " + key + " is missing or not a byte string of "
                    + (min == max ? min : min + " to " + max) + " bytes");
        }
        return b.value();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Claims c && Arrays.equals(encode(), c.encode());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(encode());
    }

    @Override
    public String toString() {
        return "Claims[dev=" + device + ", fleet=" + fleet + ", seq=" + seq + ", chain=" + Hex.encode(chain) + ", iat="
                + iat + ", measurements=" + measurements.size() + (emulated ? ", emulated" : "") + "]";
    }
}
