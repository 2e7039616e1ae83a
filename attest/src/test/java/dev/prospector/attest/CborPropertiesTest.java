package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.upokecenter.cbor.CBORObject;
import com.upokecenter.cbor.CBORType;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Round trips of the codec, and agreement with an independent CBOR library. */
class CborPropertiesTest {

    @Property(tries = 300)
    void everyValueRoundTripsAndReencodesToTheSameBytes(@ForAll("values") Cbor.Value value) throws Exception {
        byte[] bytes = Cbor.encode(value);
        Cbor.Value decoded = Cbor.decode(bytes);
        assertEquals(canonical(value), canonical(decoded));
        assertArrayEquals(bytes, Cbor.encode(decoded));
    }

    @Property(tries = 300)
    void anIndependentDecoderReadsTheSameValue(@ForAll("values") Cbor.Value value) {
        byte[] bytes = Cbor.encode(value);
        CBORObject theirs = CBORObject.DecodeFromBytes(bytes);
        assertEquals(canonical(value), canonical(theirs));
    }

    @Property(tries = 400)
    void theEncoderWritesWhatAPlainReferenceEncoderWrites(@ForAll("wideValues") Cbor.Value value) {
        assertArrayEquals(Reference.encode(value), Cbor.encode(value));
    }

    /** Values as {@link #values}, with maps beyond the encoder's in-place sort and any UTF-16 text. */
    @Provide
    Arbitrary<Cbor.Value> wideValues() {
        var keys = Arbitraries.oneOf(
                anyText().map(Cbor.Text::new),
                Arbitraries.longs().map(Cbor.Int::new),
                Arbitraries.integers().between(-300, 300).map(Cbor.Int::new));
        var big = Arbitraries.maps(keys, values()).ofMinSize(20).ofMaxSize(80).map(m -> {
            var entries = new ArrayList<Cbor.Entry>();
            // Distinct strings can encode alike (unpaired surrogates become '?'): one entry per encoded
            // key, since a map with a key twice is refused by the encoder, as it should be.
            var seen = new java.util.HashSet<String>();
            m.forEach((k, v) -> {
                if (seen.add(java.util.HexFormat.of().formatHex(Cbor.encode(k)))) {
                    entries.add(new Cbor.Entry(k, v));
                }
            });
            return (Cbor.Value) new Cbor.MapValue(entries);
        });
        return Arbitraries.oneOf(values(), big, anyText().map(t -> (Cbor.Value) new Cbor.Text(t)));
    }

    /** Any chars, unpaired surrogates included (encoded as String.getBytes does: '?'). */
    static Arbitrary<String> anyText() {
        return Arbitraries.strings().all().ofMaxLength(12);
    }

    /**
     * The encoding as RFC 8949 section 4.2.1 states it, written the plain way (each key and value
     * encoded on its own, entries sorted by their keys' bytes): the oracle for the two-pass encoder.
     */
    private static final class Reference {
        static byte[] encode(Cbor.Value v) {
            var out = new java.io.ByteArrayOutputStream();
            if (v instanceof Cbor.Int i) {
                head(out, i.value() >= 0 ? 0 : 1, i.value() >= 0 ? i.value() : -1 - i.value());
            } else if (v instanceof Cbor.Bytes b) {
                head(out, 2, b.value().length);
                out.writeBytes(b.value());
            } else if (v instanceof Cbor.Text t) {
                byte[] utf8 = t.value().getBytes(java.nio.charset.StandardCharsets.UTF_8);
                head(out, 3, utf8.length);
                out.writeBytes(utf8);
            } else if (v instanceof Cbor.Array a) {
                head(out, 4, a.items().size());
                a.items().forEach(x -> out.writeBytes(encode(x)));
            } else if (v instanceof Cbor.MapValue m) {
                var pairs = new ArrayList<byte[][]>();
                m.entries().forEach(e -> pairs.add(new byte[][] {encode(e.key()), encode(e.value())}));
                pairs.sort((x, y) -> java.util.Arrays.compareUnsigned(x[0], y[0]));
                head(out, 5, pairs.size());
                pairs.forEach(kv -> {
                    out.writeBytes(kv[0]);
                    out.writeBytes(kv[1]);
                });
            } else if (v instanceof Cbor.Float f) {
                double d = f.value();
                int half = Cbor.toHalfExact(d);
                if (half >= 0) {
                    out.writeBytes(new byte[] {(byte) 0xf9, (byte) (half >>> 8), (byte) half});
                } else if ((double) (float) d == d) {
                    out.write(0xfa);
                    out.writeBytes(
                            java.nio.ByteBuffer.allocate(4).putFloat((float) d).array());
                } else {
                    out.write(0xfb);
                    out.writeBytes(java.nio.ByteBuffer.allocate(8).putDouble(d).array());
                }
            } else if (v instanceof Cbor.Bool b) {
                out.write(b.value() ? 0xf5 : 0xf4);
            } else if (v instanceof Cbor.Null) {
                out.write(0xf6);
            } else if (v instanceof Cbor.Tagged t) {
                head(out, 6, t.tag());
                out.writeBytes(encode(t.content()));
            }
            return out.toByteArray();
        }

        private static void head(java.io.ByteArrayOutputStream out, int major, long arg) {
            int mt = major << 5;
            if (arg >= 0 && arg < 24) {
                out.write(mt | (int) arg);
            } else if (arg >= 0 && arg <= 0xff) {
                out.write(mt | 24);
                out.write((int) arg);
            } else if (arg >= 0 && arg <= 0xffff) {
                out.write(mt | 25);
                out.writeBytes(
                        java.nio.ByteBuffer.allocate(2).putShort((short) arg).array());
            } else if (arg >= 0 && arg <= 0xffffffffL) {
                out.write(mt | 26);
                out.writeBytes(java.nio.ByteBuffer.allocate(4).putInt((int) arg).array());
            } else {
                out.write(mt | 27);
                out.writeBytes(java.nio.ByteBuffer.allocate(8).putLong(arg).array());
            }
        }
    }

    @Property(tries = 200)
    void everyHalfPrecisionValueIsEncodedInThreeBytes(@ForAll("halfBits") int half) throws Exception {
        double d = Cbor.fromHalf(half);
        byte[] bytes = Cbor.encode(new Cbor.Float(d));
        assertEquals(3, bytes.length);
        assertEquals(new Cbor.Float(d), Cbor.decode(bytes));
    }

    @Provide
    Arbitrary<Integer> halfBits() {
        return Arbitraries.integers().between(0, 0xffff).filter(h -> (h & 0x7c00) != 0x7c00 || (h & 0x3ff) == 0);
    }

    @Provide
    Arbitrary<Cbor.Value> values() {
        return value(3);
    }

    private Arbitrary<Cbor.Value> value(int depth) {
        var leaves = Arbitraries.oneOf(
                Arbitraries.longs().map(Cbor.Int::new),
                Arbitraries.integers().between(-30, 300).map(i -> (Cbor.Value) new Cbor.Int(i)),
                Arbitraries.bytes().array(byte[].class).ofMaxSize(40).map(Cbor.Bytes::new),
                text().map(Cbor.Text::new),
                Arbitraries.doubles().map(Cbor.Float::new),
                Arbitraries.of(
                                0.0,
                                -0.0,
                                1.5,
                                65504.0,
                                5.960464477539063e-8,
                                100000.0,
                                1.1,
                                Double.NaN,
                                Double.POSITIVE_INFINITY,
                                Double.NEGATIVE_INFINITY,
                                (double) Float.MIN_VALUE,
                                Double.MIN_VALUE)
                        .map(Cbor.Float::new),
                Arbitraries.of(new Cbor.Bool(true), new Cbor.Bool(false), new Cbor.Null()));
        if (depth == 0) {
            return leaves.map(v -> (Cbor.Value) v);
        }
        var inner = value(depth - 1);
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(4, leaves.map(v -> (Cbor.Value) v)),
                net.jqwik.api.Tuple.of(1, inner.list().ofMaxSize(5).map(l -> (Cbor.Value) new Cbor.Array(l))),
                net.jqwik.api.Tuple.of(
                        1,
                        Arbitraries.maps(
                                        Arbitraries.oneOf(
                                                text().map(Cbor.Text::new),
                                                Arbitraries.longs().map(Cbor.Int::new)),
                                        inner)
                                .ofMaxSize(5)
                                .map(m -> {
                                    var entries = new ArrayList<Cbor.Entry>();
                                    m.forEach((k, v) -> entries.add(new Cbor.Entry(k, v)));
                                    return (Cbor.Value) new Cbor.MapValue(entries);
                                })),
                net.jqwik.api.Tuple.of(1, inner.map(v -> (Cbor.Value) new Cbor.Tagged(18, v))));
    }

    static Arbitrary<String> text() {
        return Arbitraries.strings()
                .withCharRange(' ', '~')
                .withCharRange('\u00a0', '\ud7ff')
                .withCharRange('\ue000', '\ufffd')
                .ofMaxLength(12);
    }

    /** A library-neutral rendering for comparison (map entries in encoded order). */
    private static String canonical(Cbor.Value v) {
        if (v instanceof Cbor.Int i) return "i" + i.value();
        if (v instanceof Cbor.Bytes b) return "b" + Hex.encode(b.value());
        if (v instanceof Cbor.Text t) return "t" + t.value();
        if (v instanceof Cbor.Float f) return "f" + Double.doubleToLongBits(f.value());
        if (v instanceof Cbor.Bool b) return "" + b.value();
        if (v instanceof Cbor.Null) return "null";
        if (v instanceof Cbor.Tagged t) return t.tag() + "(" + canonical(t.content()) + ")";
        if (v instanceof Cbor.Array a) {
            var parts = new ArrayList<String>();
            a.items().forEach(x -> parts.add(canonical(x)));
            return parts.toString();
        }
        var m = (Cbor.MapValue) v;
        var parts = new ArrayList<String>();
        m.entries().forEach(e -> parts.add(canonical(e.key()) + ":" + canonical(e.value())));
        parts.sort(null);
        return "{" + parts + "}";
    }

    private static String canonical(CBORObject o) {
        String tag = "";
        if (o.isTagged()) {
            tag = o.getMostOuterTag().ToInt64Checked() + "(";
            o = o.UntagOne();
            return tag + canonical(o) + ")";
        }
        if (o.isNull()) return "null";
        if (o.isTrue()) return "true";
        if (o.isFalse()) return "false";
        CBORType type = o.getType();
        switch (type) {
            case Integer:
                return "i" + o.AsNumber().ToInt64Checked();
            case ByteString:
                return "b" + Hex.encode(o.GetByteString());
            case TextString:
                return "t" + o.AsString();
            case FloatingPoint:
                return "f" + Double.doubleToLongBits(o.AsDoubleValue());
            case Array: {
                var parts = new ArrayList<String>();
                for (int i = 0; i < o.size(); i++) parts.add(canonical(o.get(i)));
                return parts.toString();
            }
            case Map: {
                var parts = new ArrayList<String>();
                for (CBORObject k : o.getKeys()) parts.add(canonical(k) + ":" + canonical(o.get(k)));
                parts.sort(null);
                return "{" + parts + "}";
            }
            default:
                return "?" + type;
        }
    }

    static List<String> unused() {
        return List.of();
    }
}
