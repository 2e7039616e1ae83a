package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The claims decoder refuses every malformed measurement and claim, with a sentence saying which. */
class ClaimsDecodeTest {
    private final byte[] valid =
            Fixtures.signer().sign(Fixtures.input()).claims().encode();

    /** The valid payload with claim {@code key} replaced by {@code value} (or removed when null). */
    private byte[] with(String key, Cbor.Value value) throws Exception {
        var m = (Cbor.MapValue) Cbor.decode(valid);
        var b = Cbor.map();
        for (var e : m.entries()) {
            String k = ((Cbor.Text) e.key()).value();
            if (!k.equals(key)) {
                b.put(k, e.value());
            }
        }
        if (value != null) {
            b.put(key, value);
        }
        return Cbor.encode(b.build());
    }

    private String rejected(byte[] payload) {
        return assertThrows(MalformedReportException.class, () -> Claims.decode(payload))
                .getMessage();
    }

    private static Cbor.MapValue measurement(Object... kv) {
        var b = Cbor.map();
        for (int i = 0; i < kv.length; i += 2) {
            b.put((String) kv[i], (Cbor.Value) kv[i + 1]);
        }
        return b.build();
    }

    @Test
    void theValidPayloadDecodes() throws Exception {
        assertEquals(Fixtures.measurements(), Claims.decode(valid).measurements());
    }

    @Test
    void aMeasurementWithAnIntegerValueIsMalformed() throws Exception {
        var m = measurement(
                "name",
                new Cbor.Text("x"),
                "value",
                new Cbor.Int(3),
                "unit",
                new Cbor.Text("B"),
                "source",
                new Cbor.Text("s"));
        assertTrue(rejected(with("meas", new Cbor.Array(List.of(m)))).contains("float"));
    }

    @Test
    void aMeasurementWithAMissingOrExtraKeyIsMalformed() throws Exception {
        var three = measurement("name", new Cbor.Text("x"), "value", new Cbor.Float(1.5), "unit", new Cbor.Text("B"));
        rejected(with("meas", new Cbor.Array(List.of(three))));
        var five = measurement(
                "name",
                new Cbor.Text("x"),
                "value",
                new Cbor.Float(1.5),
                "unit",
                new Cbor.Text("B"),
                "source",
                new Cbor.Text("s"),
                "extra",
                new Cbor.Int(1));
        rejected(with("meas", new Cbor.Array(List.of(five))));
        var wrongPair = measurement("name", new Cbor.Text("x"), "value", new Cbor.Float(1.5));
        rejected(with("meas", new Cbor.Array(List.of(wrongPair))));
        var renamed = measurement(
                "nom",
                new Cbor.Text("x"),
                "value",
                new Cbor.Float(1.5),
                "unit",
                new Cbor.Text("B"),
                "source",
                new Cbor.Text("s"));
        rejected(with("meas", new Cbor.Array(List.of(renamed))));
    }

    @Test
    void aMeasurementThatIsNotAMapOrANameThatIsNotTextIsMalformed() throws Exception {
        rejected(with("meas", new Cbor.Array(List.of(new Cbor.Int(1)))));
        var badName = measurement("name", new Cbor.Int(1), "unavailable", new Cbor.Text("why"));
        rejected(with("meas", new Cbor.Array(List.of(badName))));
        assertTrue(rejected(with("meas", new Cbor.Text("none"))).contains("meas"));
    }

    @Test
    void aNonFiniteValueIsMalformed() throws Exception {
        var nan = measurement(
                "name",
                new Cbor.Text("x"),
                "value",
                new Cbor.Float(Double.NaN),
                "unit",
                new Cbor.Text("B"),
                "source",
                new Cbor.Text("s"));
        assertTrue(rejected(with("meas", new Cbor.Array(List.of(nan)))).contains("finite"));
    }

    @Test
    void everyRequiredClaimIsRequired() throws Exception {
        for (String key : List.of(
                "v", "dev", "key", "fleet", "seq", "chain", "iat", "epoch", "boot", "up", "meas", "sw", "cfg")) {
            String message = rejected(with(key, null));
            assertTrue(message.contains(key) || message.contains("invalid claims"), key + ": " + message);
        }
    }

    @Test
    void aClaimOfTheWrongTypeIsMalformed() throws Exception {
        rejected(with("seq", new Cbor.Text("1")));
        rejected(with("seq", new Cbor.Int(-1)));
        rejected(with("key", new Cbor.Bytes(new byte[31])));
        rejected(with("chain", new Cbor.Bytes(new byte[15])));
        rejected(with("cfg", new Cbor.Text("abc")));
        rejected(with("fleet", new Cbor.Text("")));
        rejected(with("fleet", new Cbor.Text("a\nb")));
        rejected(with("nonce", new Cbor.Bytes(new byte[0])));
        rejected(with("nonce", new Cbor.Bytes(new byte[Limits.MAX_NONCE_BYTES + 1])));
        rejected(with("boot", new Cbor.Text("x".repeat(Limits.MAX_TEXT_BYTES + 1))));
        rejected(with("rot", new Cbor.Array(List.of())));
        rejected(with("v", new Cbor.Int(2)));
    }

    @Test
    void prevAndRestartMustMatchTheSeq() throws Exception {
        // The fixture's first report has seq 1 and restart: adding a prev breaks the rule.
        rejected(with("prev", new Cbor.Bytes(new byte[32])));
        rejected(with("restart", null));
        rejected(with("seq", new Cbor.Int(2)));
    }

    @Test
    void trailingBytesAfterThePayloadAreMalformed() {
        byte[] longer = java.util.Arrays.copyOf(valid, valid.length + 1);
        assertTrue(rejected(longer).contains("trailing"));
    }
}
