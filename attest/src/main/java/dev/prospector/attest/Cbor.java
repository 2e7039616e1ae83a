package dev.prospector.attest;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A small, strict CBOR (RFC 8949) codec for the evidence format.
 *
 * <p>Encoding is deterministic per RFC 8949 section 4.2.1 ("core deterministic encoding"): every
 * argument in its shortest form, definite lengths only, map keys sorted by the bytewise
 * lexicographic order of their encodings, floats in the shortest of half/single/double that
 * preserves the value (NaN as {@code f9 7e00}).
 *
 * <p>Decoding accepts exactly that and nothing else: a non-shortest argument, an indefinite length,
 * unsorted or duplicate map keys, a float that a shorter width could hold, invalid UTF-8, a simple
 * value other than false/true/null, an integer outside Java's {@code long}, nesting deeper than
 * {@link Limits#MAX_CBOR_DEPTH} or trailing bytes are all {@link MalformedReportException}s. Every
 * declared length is checked against the bytes that remain before anything is allocated, so
 * memory stays proportional to the input and time linear in it.
 *
 * <p>Written here rather than taken from a library so that the byte order of map keys and the
 * rejection of non-deterministic input are exactly those of the specification (a test checks the
 * result against com.upokecenter.cbor as an independent decoder).
 */
public final class Cbor {
    private Cbor() {}

    /** A decoded or to-be-encoded CBOR data item. */
    public sealed interface Value permits Int, Bytes, Text, Array, MapValue, Float, Bool, Null, Tagged {}

    /** Major types 0 and 1, within the range of {@code long}. */
    public record Int(long value) implements Value {}

    /** Major type 2. The array is not copied: treat it as read-only. */
    public record Bytes(byte[] value) implements Value {
        @Override
        public boolean equals(Object o) {
            return o instanceof Bytes b && Arrays.equals(value, b.value);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(value);
        }

        @Override
        public String toString() {
            return "h'" + Hex.encode(value) + "'";
        }
    }

    /** Major type 3. */
    public record Text(String value) implements Value {}

    /** Major type 4. */
    public record Array(List<Value> items) implements Value {
        public Array {
            items = List.copyOf(items);
        }
    }

    /** One map entry. */
    public record Entry(Value key, Value value) {}

    /** Major type 5; entries in encoded-key order once encoded or decoded. */
    public record MapValue(List<Entry> entries) implements Value {
        public MapValue {
            entries = List.copyOf(entries);
        }

        /** The value under a text key, if present. */
        public Optional<Value> get(String key) {
            for (var e : entries) {
                if (e.key() instanceof Text t && t.value().equals(key)) {
                    return Optional.of(e.value());
                }
            }
            return Optional.empty();
        }

        /** The value under an integer key, if present. */
        public Optional<Value> get(long key) {
            for (var e : entries) {
                if (e.key() instanceof Int i && i.value() == key) {
                    return Optional.of(e.value());
                }
            }
            return Optional.empty();
        }
    }

    /** Major type 7 floats (any width). */
    public record Float(double value) implements Value {
        @Override
        public boolean equals(Object o) {
            return o instanceof Float f && Double.compare(value, f.value) == 0;
        }

        @Override
        public int hashCode() {
            return Double.hashCode(value);
        }
    }

    /** Simple values 20 and 21. */
    public record Bool(boolean value) implements Value {}

    /** Simple value 22. */
    public record Null() implements Value {}

    /** Major type 6. */
    public record Tagged(long tag, Value content) implements Value {}

    /** Builds a map from alternating text keys and values (for readable construction). */
    public static final class MapBuilder {
        private final List<Entry> entries = new ArrayList<>();

        public MapBuilder put(String key, Value value) {
            entries.add(new Entry(new Text(key), value));
            return this;
        }

        public MapBuilder put(long key, Value value) {
            entries.add(new Entry(new Int(key), value));
            return this;
        }

        public MapValue build() {
            return new MapValue(entries);
        }
    }

    public static MapBuilder map() {
        return new MapBuilder();
    }

    // ---------------------------------------------------------------- encoding

    /**
     * Encodes a value deterministically (RFC 8949 section 4.2.1), into one exactly sized array.
     *
     * <p>Two passes: {@link #size} adds up the encoded length without allocating, then a {@link
     * Writer} fills the array. Only a map's keys are encoded apart (to sort the entries by their
     * bytes); values, like everything else, are written in place. This runs for every report a
     * board signs and every receipt a verifier sends: the encoder before this one, a growing buffer
     * for every key and every value of every map, allocated about ten times the bytes it produced,
     * and a busy verifier spent a fifth of its allocation on receipts' maps.
     */
    public static byte[] encode(Value value) {
        byte[] out = new byte[size(value)];
        int end = new Writer(out).write(value);
        if (end != out.length) {
            throw new IllegalStateException("encoded " + end + " bytes where " + out.length + " were sized");
        }
        return out;
    }

    /** The length of {@code value}'s deterministic encoding. */
    static int size(Value value) {
        long n = sizeOf(value);
        if (n > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("a CBOR value of " + n + " bytes is too large to encode");
        }
        return (int) n;
    }

    private static long sizeOf(Value value) {
        if (value instanceof Int i) {
            long v = i.value();
            return headSize(v >= 0 ? v : -1 - v);
        } else if (value instanceof Bytes b) {
            return headSize(b.value().length) + b.value().length;
        } else if (value instanceof Text t) {
            int n = utf8Length(t.value());
            return headSize(n) + n;
        } else if (value instanceof Array a) {
            long n = headSize(a.items().size());
            for (Value item : a.items()) {
                n += sizeOf(item);
            }
            return n;
        } else if (value instanceof MapValue m) {
            long n = headSize(m.entries().size());
            for (Entry e : m.entries()) {
                n += sizeOf(e.key()) + sizeOf(e.value());
            }
            return n;
        } else if (value instanceof Float f) {
            return toHalfExact(f.value()) >= 0 ? 3 : ((double) (float) f.value() == f.value() ? 5 : 9);
        } else if (value instanceof Bool || value instanceof Null) {
            return 1;
        } else if (value instanceof Tagged t) {
            return headSize(t.tag()) + sizeOf(t.content());
        }
        throw new IllegalArgumentException("cannot encode " + value);
    }

    /** Bytes of a head whose (unsigned) argument is {@code arg}: 1, 2, 3, 5 or 9. */
    static int headSize(long arg) {
        if (arg >= 0 && arg < 24) {
            return 1;
        } else if (arg >= 0 && arg <= 0xff) {
            return 2;
        } else if (arg >= 0 && arg <= 0xffff) {
            return 3;
        } else if (arg >= 0 && arg <= 0xffffffffL) {
            return 5;
        }
        return 9;
    }

    /** UTF-8 length of {@code s}, as {@code s.getBytes(UTF_8).length} (unpaired surrogates: one byte, '?'). */
    static int utf8Length(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isSurrogate(c)) {
                return s.getBytes(StandardCharsets.UTF_8).length; // rare: let the JDK decide pairs
            } else {
                n += 3;
            }
        }
        return n;
    }

    /** Fills an exactly sized array with a value's deterministic encoding, front to back. */
    private static final class Writer {
        /** Maps of up to this many entries are sorted in place; larger ones through boxed indices. */
        private static final int SMALL_MAP = 32;

        private final byte[] out;
        private int p;

        Writer(byte[] out) {
            this.out = out;
        }

        /** Writes {@code value} at the current position; returns the position after it. */
        int write(Value value) {
            if (value instanceof Int i) {
                long v = i.value();
                if (v >= 0) {
                    head(0, v);
                } else {
                    head(1, -1 - v);
                }
            } else if (value instanceof Bytes b) {
                head(2, b.value().length);
                bytes(b.value());
            } else if (value instanceof Text t) {
                text(t.value());
            } else if (value instanceof Array a) {
                head(4, a.items().size());
                for (Value item : a.items()) {
                    write(item);
                }
            } else if (value instanceof MapValue m) {
                map(m);
            } else if (value instanceof Float f) {
                writeFloat(f.value());
            } else if (value instanceof Bool b) {
                out[p++] = (byte) (b.value() ? 0xf5 : 0xf4);
            } else if (value instanceof Null) {
                out[p++] = (byte) 0xf6;
            } else if (value instanceof Tagged t) {
                head(6, t.tag());
                write(t.content());
            }
            return p;
        }

        /** Entries in the bytewise order of their encoded keys; a key that comes twice is refused. */
        private void map(MapValue m) {
            List<Entry> entries = m.entries();
            int n = entries.size();
            byte[][] keys = new byte[n][];
            for (int i = 0; i < n; i++) {
                keys[i] = encode(entries.get(i).key());
            }
            int[] order = sortedByKey(keys);
            for (int i = 1; i < n; i++) {
                if (Arrays.equals(keys[order[i - 1]], keys[order[i]])) {
                    throw new IllegalArgumentException(
                            "duplicate map key " + entries.get(order[i]).key());
                }
            }
            head(5, n);
            for (int i : order) {
                bytes(keys[i]);
                write(entries.get(i).value());
            }
        }

        private static int[] sortedByKey(byte[][] keys) {
            int n = keys.length;
            int[] order = new int[n];
            if (n <= SMALL_MAP) {
                for (int i = 0; i < n; i++) { // insertion sort: maps of the evidence format have a few dozen keys
                    int x = i;
                    int j = i - 1;
                    while (j >= 0 && Arrays.compareUnsigned(keys[order[j]], keys[x]) > 0) {
                        order[j + 1] = order[j];
                        j--;
                    }
                    order[j + 1] = x;
                }
                return order;
            }
            Integer[] boxed = new Integer[n];
            for (int i = 0; i < n; i++) {
                boxed[i] = i;
            }
            Arrays.sort(boxed, (a, b) -> Arrays.compareUnsigned(keys[a], keys[b]));
            for (int i = 0; i < n; i++) {
                order[i] = boxed[i];
            }
            return order;
        }

        private void text(String s) {
            head(3, utf8Length(s));
            int start = p;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c >= 0x80) { // not ASCII: let the JDK encode it
                    p = start;
                    bytes(s.getBytes(StandardCharsets.UTF_8));
                    return;
                }
                out[p++] = (byte) c;
            }
        }

        private void bytes(byte[] b) {
            System.arraycopy(b, 0, out, p, b.length);
            p += b.length;
        }

        /** A major type with its argument in the shortest form; {@code arg} is unsigned. */
        private void head(int major, long arg) {
            int mt = major << 5;
            int size = headSize(arg);
            if (size == 1) {
                out[p++] = (byte) (mt | (int) arg);
                return;
            }
            out[p++] = (byte) (mt | (size == 2 ? 24 : size == 3 ? 25 : size == 5 ? 26 : 27));
            for (int s = 8 * (size - 2); s >= 0; s -= 8) {
                out[p++] = (byte) (arg >>> s);
            }
        }

        private void writeFloat(double d) {
            int half = toHalfExact(d);
            if (half >= 0) {
                out[p++] = (byte) 0xf9;
                out[p++] = (byte) (half >>> 8);
                out[p++] = (byte) half;
                return;
            }
            float f = (float) d;
            if ((double) f == d) {
                out[p++] = (byte) 0xfa;
                int bits = java.lang.Float.floatToRawIntBits(f);
                for (int s = 24; s >= 0; s -= 8) {
                    out[p++] = (byte) (bits >>> s);
                }
                return;
            }
            out[p++] = (byte) 0xfb;
            long bits = Double.doubleToRawLongBits(d);
            for (int s = 56; s >= 0; s -= 8) {
                out[p++] = (byte) (bits >>> s);
            }
        }
    }

    /**
     * The IEEE 754 half-precision bits that hold exactly {@code d}, or -1 if none does. NaN maps to
     * the canonical quiet NaN {@code 0x7e00}.
     */
    static int toHalfExact(double d) {
        if (Double.isNaN(d)) {
            return 0x7e00;
        }
        float f = (float) d;
        if ((double) f != d) {
            return -1;
        }
        int bits = java.lang.Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int expField = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (expField == 0xff) {
            return sign | 0x7c00; // infinity (NaN handled above)
        }
        if (expField == 0) {
            return mant == 0 ? sign : -1; // zero; float subnormals are below half's range
        }
        int exp = expField - 127;
        if (exp >= -14 && exp <= 15) {
            if ((mant & 0x1fff) != 0) {
                return -1;
            }
            return sign | ((exp + 15) << 10) | (mant >>> 13);
        }
        if (exp >= -24 && exp < -14) {
            int significand = 0x800000 | mant;
            int shift = -(exp + 1); // value = significand * 2^(exp-23) = k * 2^-24
            if ((significand & ((1 << shift) - 1)) != 0) {
                return -1;
            }
            return sign | (significand >>> shift);
        }
        return -1;
    }

    static double fromHalf(int half) {
        int sign = (half & 0x8000) != 0 ? -1 : 1;
        int exp = (half >>> 10) & 0x1f;
        int mant = half & 0x3ff;
        if (exp == 0) {
            return sign * Math.scalb((double) mant, -24);
        }
        if (exp == 31) {
            return mant == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
        }
        return sign * Math.scalb((double) (mant | 0x400), exp - 25);
    }

    // ---------------------------------------------------------------- decoding

    /** Decodes exactly one deterministic data item that spans all of {@code bytes}. */
    public static Value decode(byte[] bytes) throws MalformedReportException {
        return decode(bytes, 0, bytes.length);
    }

    /** Decodes exactly one deterministic data item spanning {@code bytes[from, to)}. */
    public static Value decode(byte[] bytes, int from, int to) throws MalformedReportException {
        var r = new Reader(bytes, from, to);
        Value v = r.item(0);
        if (r.pos != to) {
            throw new MalformedReportException((to - r.pos) + " trailing bytes after the CBOR item");
        }
        return v;
    }

    private static final java.lang.invoke.VarHandle LITTLE_ENDIAN_LONG =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

    /** An encoded map key, prepared for {@link Reader#tryKey}: its bytes, and up to 8 of them as a word. */
    static final class Key {
        final byte[] encoded;
        final long word;
        final long mask;

        private Key(byte[] encoded) {
            this.encoded = encoded.clone();
            long w = 0;
            for (int i = 0; i < Math.min(encoded.length, Long.BYTES); i++) {
                w |= (encoded[i] & 0xffL) << (8 * i);
            }
            this.word = w;
            this.mask = encoded.length >= Long.BYTES ? -1L : (1L << (8 * encoded.length)) - 1;
        }

        /** The key whose encoding is {@code encoded} (any data item). */
        static Key of(byte[] encoded) {
            return new Key(encoded);
        }

        /** The text-string key {@code text}. */
        static Key text(String text) {
            return new Key(encode(new Text(text)));
        }
    }

    private static final RecentTexts RECENT_TEXTS = new RecentTexts();

    /** True if {@code s} is a decoded text known to hold only printable ASCII (at most 64 bytes). */
    static boolean isPlainText(String s) {
        return RECENT_TEXTS.isPlain(s);
    }

    /**
     * A fixed-size, lossy table of recently decoded short ASCII texts, shared by all threads. Races
     * are benign: a slot holds a complete, immutable String or null, and a lost update is a miss.
     */
    static final class RecentTexts {
        private static final int SLOTS = 1 << 11;
        private static final int MAX_LENGTH = 64;
        private final Entry[] slots = new Entry[SLOTS];
        /** Texts handed out that hold no control character, by their String hash: see {@link #isPlain}. */
        private final String[] plain = new String[SLOTS];

        /** A remembered text with its UTF-8 bytes (immutable, so safely shared through a race). */
        private record Entry(byte[] utf8, String text) {}

        /** The text of {@code in[from, from + n)} if it is short ASCII (then remembered), else null. */
        String lookup(byte[] in, int from, int n) {
            if (n > MAX_LENGTH) {
                return null;
            }
            // A cheap hash of the length and the first and last 8 bytes; equality is checked in full.
            long h = n;
            if (n >= Long.BYTES) {
                h = h * 0x9E3779B97F4A7C15L + (long) LITTLE_ENDIAN_LONG.get(in, from);
                h = h * 0x9E3779B97F4A7C15L + (long) LITTLE_ENDIAN_LONG.get(in, from + n - Long.BYTES);
            } else {
                for (int i = from; i < from + n; i++) {
                    h = h * 31 + in[i];
                }
            }
            int slot = (int) (h ^ (h >>> 29) ^ (h >>> 47)) & (SLOTS - 1);
            Entry e = slots[slot];
            if (e != null && e.utf8.length == n && sameBytes(e.utf8, in, from, n)) {
                return e.text;
            }
            boolean control = false;
            for (int i = from; i < from + n; i++) {
                if (in[i] < 0) {
                    return null; // not ASCII: decoded and checked the general way
                }
                control |= in[i] < 0x20 || in[i] == 0x7f;
            }
            String text = new String(in, from, n, StandardCharsets.ISO_8859_1);
            slots[slot] = new Entry(Arrays.copyOfRange(in, from, from + n), text);
            if (!control) {
                plain[text.hashCode() & (SLOTS - 1)] = text;
            }
            return text;
        }

        /**
         * {@code a} (of length {@code n}) equals {@code in[from, from + n)}: up to 16 bytes as two
         * overlapping 8-byte words (most names, units and sources), longer ones with Arrays.equals.
         */
        private static boolean sameBytes(byte[] a, byte[] in, int from, int n) {
            if (n >= Long.BYTES && n <= 2 * Long.BYTES) {
                return (long) LITTLE_ENDIAN_LONG.get(a, 0) == (long) LITTLE_ENDIAN_LONG.get(in, from)
                        && (long) LITTLE_ENDIAN_LONG.get(a, n - Long.BYTES)
                                == (long) LITTLE_ENDIAN_LONG.get(in, from + n - Long.BYTES);
            }
            if (n < Long.BYTES) {
                for (int i = 0; i < n; i++) {
                    if (a[i] != in[from + i]) {
                        return false;
                    }
                }
                return true;
            }
            return Arrays.equals(a, 0, n, in, from, from + n);
        }

        /**
         * True if {@code s} is (the very object of) a remembered text without control characters,
         * at most {@link #MAX_LENGTH} ASCII bytes: text checks can skip their scan. An identity
         * test on the String's cached hash code; false just means "check it the long way".
         */
        boolean isPlain(String s) {
            return plain[s.hashCode() & (SLOTS - 1)] == s;
        }
    }

    /** A cursor over a byte range; positions let callers find the raw span of an item. */
    static final class Reader {
        private final byte[] in;
        private final int end;
        private final int base;
        int pos;

        Reader(byte[] in, int from, int to) {
            this.in = in;
            this.pos = from;
            this.end = to;
            this.base = from;
        }

        /** Position {@code p} as messages give it: counted from the start of the range read. */
        int at(int p) {
            return p - base;
        }

        private int u8() throws MalformedReportException {
            if (pos >= end) {
                throw new MalformedReportException("truncated CBOR at byte " + at(pos));
            }
            return in[pos++] & 0xff;
        }

        private long argument(int info) throws MalformedReportException {
            if (info < 24) {
                return info;
            }
            int n;
            switch (info) {
                case 24:
                    n = 1;
                    break;
                case 25:
                    n = 2;
                    break;
                case 26:
                    n = 4;
                    break;
                case 27:
                    n = 8;
                    break;
                case 31:
                    throw new MalformedReportException(
                            "indefinite length at byte " + at(pos - 1) + " (not deterministic)");
                default:
                    throw new MalformedReportException(
                            "reserved additional information " + info + " at byte " + at(pos - 1));
            }
            long v = 0;
            for (int i = 0; i < n; i++) {
                v = (v << 8) | u8();
            }
            long min = n == 1 ? 24 : n == 2 ? 0x100 : n == 4 ? 0x10000 : 0x100000000L;
            if (Long.compareUnsigned(v, min) < 0) {
                throw new MalformedReportException(
                        "argument " + Long.toUnsignedString(v) + " not in its shortest form at byte " + at(pos));
            }
            return v;
        }

        private int length(long arg) throws MalformedReportException {
            if (arg < 0 || arg > end - pos) {
                throw new MalformedReportException("declared length " + Long.toUnsignedString(arg) + " exceeds the "
                        + (end - pos) + " bytes left");
            }
            return (int) arg;
        }

        Value item(int depth) throws MalformedReportException {
            if (depth > Limits.MAX_CBOR_DEPTH) {
                throw new MalformedReportException("CBOR nested deeper than " + Limits.MAX_CBOR_DEPTH);
            }
            int start = pos;
            int ib = u8();
            int major = ib >>> 5;
            int info = ib & 0x1f;
            if (major == 7) {
                return simple(info, start);
            }
            long arg = argument(info);
            switch (major) {
                case 0:
                    if (arg < 0) {
                        throw new MalformedReportException("integer beyond 2^63-1 at byte " + at(start));
                    }
                    return new Int(arg);
                case 1:
                    if (arg < 0) {
                        throw new MalformedReportException("integer below -2^63 at byte " + at(start));
                    }
                    return new Int(-1 - arg);
                case 2: {
                    int n = length(arg);
                    byte[] b = Arrays.copyOfRange(in, pos, pos + n);
                    pos += n;
                    return new Bytes(b);
                }
                case 3: {
                    int n = length(arg);
                    String s = utf8(n, start);
                    pos += n;
                    return new Text(s);
                }
                case 4: {
                    int n = length(arg); // every item takes at least one byte
                    var items = new Value[n];
                    for (int i = 0; i < n; i++) {
                        items[i] = item(depth + 1);
                    }
                    return new Array(List.of(items)); // List.copyOf in the record keeps this list
                }
                case 5: {
                    if (arg < 0 || arg > (end - pos) / 2) {
                        throw new MalformedReportException(
                                "declared map size " + Long.toUnsignedString(arg) + " exceeds the bytes left");
                    }
                    int n = (int) arg;
                    var entries = new Entry[n];
                    int prevKeyStart = -1;
                    int prevKeyEnd = -1;
                    for (int i = 0; i < n; i++) {
                        int keyStart = pos;
                        Value k = item(depth + 1);
                        int keyEnd = pos;
                        if (prevKeyStart >= 0
                                && Arrays.compareUnsigned(in, prevKeyStart, prevKeyEnd, in, keyStart, keyEnd) >= 0) {
                            throw new MalformedReportException(
                                    "map keys not in deterministic order (or duplicated) at byte " + at(keyStart));
                        }
                        prevKeyStart = keyStart;
                        prevKeyEnd = keyEnd;
                        entries[i] = new Entry(k, item(depth + 1));
                    }
                    return new MapValue(List.of(entries));
                }
                case 6:
                    if (arg < 0) {
                        throw new MalformedReportException("tag beyond 2^63-1 at byte " + at(start));
                    }
                    return new Tagged(arg, item(depth + 1));
                default:
                    throw new AssertionError(major);
            }
        }

        /**
         * Reads the head of an array (major 4) or map (major 5) and returns its size, checked
         * against the bytes left like every other length.
         */
        int containerHeader(int major, String what) throws MalformedReportException {
            int start = pos;
            int ib = u8();
            if ((ib >>> 5) != major) {
                throw new MalformedReportException(
                        what + " is not " + (major == 4 ? "an array" : "a map") + " (byte " + at(start) + ")");
            }
            long arg = argument(ib & 0x1f);
            long max = major == 5 ? (end - pos) / 2 : end - pos;
            if (arg < 0 || arg > max) {
                throw new MalformedReportException(
                        "declared size " + Long.toUnsignedString(arg) + " of " + what + " exceeds the bytes left");
            }
            return (int) arg;
        }

        /** If the next bytes are exactly {@code key} (an encoded map key), consumes them. */
        boolean tryKey(Key key) {
            int n = key.encoded.length;
            if (end - pos < n) {
                return false;
            }
            if (n <= Long.BYTES && in.length - pos >= Long.BYTES) {
                // One 8-byte load and a mask instead of a byte loop: this runs for every key of every report.
                if (((long) LITTLE_ENDIAN_LONG.get(in, pos) & key.mask) != key.word) {
                    return false;
                }
            } else if (!Arrays.equals(in, pos, pos + n, key.encoded, 0, n)) {
                return false;
            }
            pos += n;
            return true;
        }

        /** Throws unless every byte was read. */
        void finish() throws MalformedReportException {
            if (pos != end) {
                throw new MalformedReportException((end - pos) + " trailing bytes after the CBOR item");
            }
        }

        /**
         * The {@code n} bytes at {@code pos} as strict UTF-8. The JDK's decoder is vectorised for
         * ASCII and replaces malformed input (overlong forms, surrogates, stray bytes) with U+FFFD,
         * so a result without U+FFFD came from valid UTF-8; only text holding one is decoded again
         * with a decoder that reports errors.
         */
        private String utf8(int n, int start) throws MalformedReportException {
            String s = new String(in, pos, n, StandardCharsets.UTF_8);
            if (s.indexOf('\uFFFD') < 0) {
                return s;
            }
            var dec = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT);
            try {
                return dec.decode(ByteBuffer.wrap(in, pos, n)).toString();
            } catch (CharacterCodingException e) {
                throw new MalformedReportException("invalid UTF-8 in text string at byte " + at(start));
            }
        }

        // Typed reads for decoders that know the shape they expect (no tree, no wrappers).

        /** Reads the head of a data item of major type {@code major}; its argument. */
        private long head(int major, String what) throws MalformedReportException {
            int ib = u8();
            if ((ib >>> 5) != major) {
                throw new MalformedReportException(what);
            }
            return argument(ib & 0x1f);
        }

        /** An unsigned integer (major type 0) up to 2^63-1, or {@code MalformedReportException(what)}. */
        long uint(String what) throws MalformedReportException {
            return longArgument(0, what);
        }

        /** The argument of an item of major type {@code major}, within Java's long. */
        private long longArgument(int major, String what) throws MalformedReportException {
            long v = head(major, what);
            if (v < 0) {
                throw new MalformedReportException(what);
            }
            return v;
        }

        /** A float (major type 7, any width, deterministic), or {@code MalformedReportException(what)}. */
        double floatValue(String what) throws MalformedReportException {
            int start = pos;
            if (pos >= end || (in[pos] & 0xff) >>> 5 != 7) {
                throw new MalformedReportException(what);
            }
            int info = in[pos++] & 0x1f;
            if (info < 25 || info > 27) {
                throw new MalformedReportException(what);
            }
            return floatOf(info, start);
        }

        /** A boolean (simple value false or true), or {@code MalformedReportException(what)}. */
        boolean bool(String what) throws MalformedReportException {
            if (pos >= end) {
                throw new MalformedReportException(what);
            }
            int b = in[pos] & 0xff;
            if (b != 0xf4 && b != 0xf5) {
                throw new MalformedReportException(what);
            }
            pos++;
            return b == 0xf5;
        }

        /** A tag number (major type 6) up to 2^63-1, or {@code MalformedReportException(what)}. */
        long tag(String what) throws MalformedReportException {
            return longArgument(6, what);
        }

        /** A text string, strictly UTF-8, or {@code MalformedReportException(what)}. */
        String text(String what) throws MalformedReportException {
            int start = pos;
            int n = length(head(3, what));
            String s = utf8(n, start);
            pos += n;
            return s;
        }

        /**
         * As {@link #text}, for texts that repeat from report to report (units, sources, measurement
         * names, fleet): a short ASCII text equal to a recently decoded one is that same String,
         * which saves an allocation and keeps its hash code.
         */
        String repeatedText(String what) throws MalformedReportException {
            int start = pos;
            int n = length(head(3, what));
            String s = RECENT_TEXTS.lookup(in, pos, n);
            if (s == null) {
                s = utf8(n, start);
            }
            pos += n;
            return s;
        }

        /** A byte string of {@code min} to {@code max} bytes (copied), or {@code MalformedReportException(what)}. */
        byte[] bytes(String what, int min, int max) throws MalformedReportException {
            int at = bytesAt(what, min, max);
            return Arrays.copyOfRange(in, at, pos);
        }

        /** As {@link #bytes}, without copying: the string's first byte's position (it ends at {@code pos}). */
        int bytesAt(String what, int min, int max) throws MalformedReportException {
            int n = length(head(2, what));
            if (n < min || n > max) {
                throw new MalformedReportException(what);
            }
            int at = pos;
            pos += n;
            return at;
        }

        /**
         * Reads a map key that is one of {@code keys[from..]} and returns its index; -1, with
         * nothing consumed, if the next item is none of them.
         */
        int key(Key[] keys, int from) {
            for (int i = from; i < keys.length; i++) {
                if (tryKey(keys[i])) {
                    return i;
                }
            }
            return -1;
        }

        /** The float after a head of major type 7 with additional information 25, 26 or 27 (checked deterministic). */
        private double floatOf(int info, int start) throws MalformedReportException {
            switch (info) {
                case 25: {
                    int h = (u8() << 8) | u8();
                    double d = fromHalf(h);
                    if (Double.isNaN(d) && h != 0x7e00) {
                        throw new MalformedReportException("non-canonical NaN at byte " + at(start));
                    }
                    return d;
                }
                case 26: {
                    int bits = 0;
                    for (int i = 0; i < 4; i++) {
                        bits = (bits << 8) | u8();
                    }
                    double d = java.lang.Float.intBitsToFloat(bits);
                    if (Double.isNaN(d) || toHalfExact(d) >= 0) {
                        throw new MalformedReportException(
                                "single-precision float that half precision holds at byte " + at(start));
                    }
                    return d;
                }
                case 27: {
                    long bits = 0;
                    for (int i = 0; i < 8; i++) {
                        bits = (bits << 8) | u8();
                    }
                    double d = Double.longBitsToDouble(bits);
                    if (Double.isNaN(d) || (double) (float) d == d) {
                        throw new MalformedReportException(
                                "double-precision float that a shorter width holds at byte " + at(start));
                    }
                    return d;
                }
                default:
                    throw new AssertionError(info);
            }
        }

        private Value simple(int info, int start) throws MalformedReportException {
            switch (info) {
                case 20:
                    return new Bool(false);
                case 21:
                    return new Bool(true);
                case 22:
                    return new Null();
                case 25:
                case 26:
                case 27:
                    return new Float(floatOf(info, start));
                case 31:
                    throw new MalformedReportException("unexpected break at byte " + at(start));
                default:
                    throw new MalformedReportException("unsupported simple value " + info + " at byte " + at(start));
            }
        }
    }
}
