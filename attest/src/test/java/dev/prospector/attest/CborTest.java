package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** RFC 8949 Appendix A examples and section 4.2.1 rules, both ways. */
class CborTest {
    @ParameterizedTest(name = "{0} encodes as {1}")
    @CsvSource({
        "0, 00",
        "1, 01",
        "23, 17",
        "24, 1818",
        "100, 1864",
        "1000, 1903e8",
        "1000000, 1a000f4240",
        "1000000000000, 1b000000e8d4a51000",
        "9223372036854775807, 1b7fffffffffffffff",
        "-1, 20",
        "-10, 29",
        "-100, 3863",
        "-1000, 3903e7",
        "-9223372036854775808, 3b7fffffffffffffff"
    })
    void integersTakeTheirShortestForm(long value, String hex) throws Exception {
        assertEquals(hex, Hex.encode(Cbor.encode(new Cbor.Int(value))));
        assertEquals(new Cbor.Int(value), Cbor.decode(Hex.decode(hex)));
    }

    @ParameterizedTest(name = "{0} encodes as {1}")
    @CsvSource({
        "0.0, f90000",
        "-0.0, f98000",
        "1.0, f93c00",
        "1.1, fb3ff199999999999a",
        "1.5, f93e00",
        "65504.0, f97bff",
        "100000.0, fa47c35000",
        "3.4028234663852886e+38, fa7f7fffff",
        "1.0e+300, fb7e37e43c8800759c",
        "5.960464477539063e-8, f90001",
        "0.00006103515625, f90400",
        "-4.0, f9c400",
        "-4.1, fbc010666666666666",
        "Infinity, f97c00",
        "-Infinity, f9fc00",
        "NaN, f97e00",
        "48.5, f95210",
        "31914983424.0, fa50edc900"
    })
    void floatsTakeTheShortestWidthThatPreservesTheValue(double value, String hex) throws Exception {
        assertEquals(hex, Hex.encode(Cbor.encode(new Cbor.Float(value))));
        assertEquals(new Cbor.Float(value), Cbor.decode(Hex.decode(hex)));
    }

    @Test
    void stringsArraysAndMapsMatchTheRfcExamples() throws Exception {
        assertEquals("6449455446", Hex.encode(Cbor.encode(new Cbor.Text("IETF"))));
        assertEquals("62c3bc", Hex.encode(Cbor.encode(new Cbor.Text("\u00fc"))));
        assertEquals("64f0908591", Hex.encode(Cbor.encode(new Cbor.Text("\ud800\udd51"))));
        assertEquals("4401020304", Hex.encode(Cbor.encode(new Cbor.Bytes(new byte[] {1, 2, 3, 4}))));
        var nested = new Cbor.Array(List.of(
                new Cbor.Int(1),
                new Cbor.Array(List.of(new Cbor.Int(2), new Cbor.Int(3))),
                new Cbor.Array(List.of(new Cbor.Int(4), new Cbor.Int(5)))));
        assertEquals("8301820203820405", Hex.encode(Cbor.encode(nested)));
        var map = Cbor.map()
                .put("a", new Cbor.Int(1))
                .put("b", new Cbor.Array(List.of(new Cbor.Int(2), new Cbor.Int(3))))
                .build();
        assertEquals("a26161016162820203", Hex.encode(Cbor.encode(map)));
        assertEquals(
                "f4f5f6",
                Hex.encode(Cbor.encode(new Cbor.Bool(false)))
                        + Hex.encode(Cbor.encode(new Cbor.Bool(true)))
                        + Hex.encode(Cbor.encode(new Cbor.Null())));
        assertEquals("d24100", Hex.encode(Cbor.encode(new Cbor.Tagged(18, new Cbor.Bytes(new byte[] {0})))));
    }

    @Test
    void mapKeysAreSortedBytewiseByTheirEncodings() {
        var map = Cbor.map()
                .put("b", new Cbor.Int(1))
                .put("aa", new Cbor.Int(2))
                .put("a", new Cbor.Int(3))
                .put(10, new Cbor.Int(4))
                .put(-1, new Cbor.Int(5))
                .put(100, new Cbor.Int(6))
                .build();
        // 0a < 1864 < 20 < 6161 < 6162 < 626161: shorter text keys first, then bytewise.
        assertEquals(
                "a6" + "0a04" + "186406" + "2005" + "616103" + "616201" + "62616102", Hex.encode(Cbor.encode(map)));
    }

    @Test
    void duplicateKeysCannotBeEncoded() {
        assertThrows(
                IllegalArgumentException.class,
                () -> Cbor.encode(Cbor.map()
                        .put("a", new Cbor.Int(1))
                        .put("a", new Cbor.Int(2))
                        .build()));
        var big = Cbor.map();
        for (int i = 0; i < 40; i++) {
            big.put("k" + i, new Cbor.Int(i));
        }
        big.put("k17", new Cbor.Int(-1));
        var e = assertThrows(IllegalArgumentException.class, () -> Cbor.encode(big.build()));
        assertEquals("duplicate map key Text[value=k17]", e.getMessage());
    }

    @ParameterizedTest(name = "{0} is rejected")
    @ValueSource(
            strings = {
                "1817", // 23 in two bytes
                "190017", // 23 in three bytes
                "1a000000ff", // 255 in five bytes
                "1b00000000ffffffff", // 2^32-1 in nine bytes
                "3800", // -1 in two bytes
                "5800",
                "7800",
                "9800",
                "b800",
                "d800",
                "5f42010243030405ff", // indefinite byte string
                "7f6161ff", // indefinite text
                "9f01ff", // indefinite array
                "bf616101ff", // indefinite map
                "a2616201616102", // keys out of order
                "a2616101616102", // duplicate key
                "a2626161016162", // longer key before shorter one (odd-length too)
                "a2200a01", // -1 before 10
                "fa3f800000", // 1.0 as single (half holds it)
                "fb3ff0000000000000", // 1.0 as double
                "fb3ff8000000000000", // 1.5 as double
                "fb7ff8000000000000", // NaN as double
                "f97e01", // NaN with payload
                "f97c01", // signalling NaN
                "f7",
                "f0",
                "f818",
                "f8ff", // undefined and other simple values
                "1c",
                "3d",
                "5e",
                "ff", // reserved / stray break
                "62c328", // invalid UTF-8
                "63eda080", // UTF-8 encoded surrogate
                "1b8000000000000000", // above 2^63-1
                "3b8000000000000000", // below -2^63
                "0000", // trailing bytes
                "", // nothing
                "5a00010000", // byte string longer than the input
                "9a00010000", // array longer than the input
                "bb0000000100000000", // map longer than the input
                "5bffffffffffffffff", // 2^64-1 byte string
            })
    void nonDeterministicOrInvalidInputIsRejected(String hex) {
        assertThrows(MalformedReportException.class, () -> Cbor.decode(Hex.decode(hex)));
    }

    @Test
    void nestingBeyondTheLimitIsRejected() throws Exception {
        byte[] ok = new byte[Limits.MAX_CBOR_DEPTH + 1];
        java.util.Arrays.fill(ok, 0, Limits.MAX_CBOR_DEPTH, (byte) 0x81);
        Cbor.decode(ok);
        byte[] deep = new byte[Limits.MAX_CBOR_DEPTH + 2];
        java.util.Arrays.fill(deep, 0, Limits.MAX_CBOR_DEPTH + 1, (byte) 0x81);
        assertThrows(MalformedReportException.class, () -> Cbor.decode(deep));
    }
}
