package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Builders;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Every claim type survives encode, sign, decode, verify unchanged. */
class ClaimsPropertiesTest {

    @Property(tries = 150)
    void anyReportRoundTripsThroughItsBytes(
            @ForAll("inputs") ReportInput input,
            @ForAll("seeds") byte[] seed,
            @ForAll @net.jqwik.api.constraints.IntRange(min = 0, max = 2) int rotations)
            throws Exception {
        var keys = DeviceKeys.fromSeed(seed);
        for (int i = 0; i < rotations; i++) {
            keys = keys.rotate(input.iat());
        }
        var signer = new ReportSigner(keys, ChainState.inMemory());
        var first = signer.sign(input);
        var second = signer.sign(input);
        for (var report : List.of(first, second)) {
            var decoded = Report.decode(report.bytes());
            assertEquals(report.claims(), decoded.claims());
            assertTrue(decoded.verifySignature());
            assertArrayEquals(
                    report.claims().encode(),
                    decoded.payload(),
                    "re-encoding the decoded claims gives the signed bytes");
            var c = decoded.claims();
            assertEquals(input.fleet(), c.fleet());
            assertEquals(input.iat(), c.iat());
            assertEquals(input.epoch(), c.epoch());
            assertEquals(input.nonce().map(Hex::encode), c.nonce().map(Hex::encode));
            assertEquals(input.bootId(), c.bootId());
            assertEquals(input.uptime(), c.uptime());
            assertEquals(input.measurements(), c.measurements());
            assertEquals(input.softwareVersion(), c.softwareVersion());
            assertArrayEquals(input.configHash(), c.configHash());
        }
        assertArrayEquals(first.hash(), second.claims().prev().orElseThrow());
        assertEquals(0, first.claims().lost(), "nothing before the first report to lose");
        assertEquals(Math.min(input.lost(), 1), second.claims().lost());
        assertEquals(rotations, second.claims().rotations().size());
        assertEquals(DeviceKeys.fromSeed(seed).deviceId(), second.claims().device());
    }

    @Property(tries = 100)
    void measurementsKeepEveryFiniteValueExactly(@ForAll("finite") double value) throws Exception {
        var signer = Fixtures.signer();
        var m = new MeasurementClaim("x", value, "1", "test");
        var decoded =
                Report.decode(signer.sign(Fixtures.input(List.of(m))).bytes()).claims();
        var back = (MeasurementClaim) decoded.measurements().get(0);
        assertEquals(Double.doubleToLongBits(value), Double.doubleToLongBits(back.value()));
    }

    @Provide
    Arbitrary<Double> finite() {
        return Arbitraries.oneOf(
                Arbitraries.doubles(),
                Arbitraries.doubles().between(-1e6, 1e6),
                Arbitraries.of(0.0, -0.0, Double.MIN_VALUE, Double.MAX_VALUE, -Double.MAX_VALUE, 48.5, 1e-7));
    }

    @Provide
    Arbitrary<byte[]> seeds() {
        return Arbitraries.bytes().array(byte[].class).ofSize(32);
    }

    @Provide
    Arbitrary<ReportInput> inputs() {
        var text = CborPropertiesTest.text().filter(s -> !s.isEmpty());
        var measurement = Arbitraries.oneOf(
                Combinators.combine(text, finite(), CborPropertiesTest.text(), CborPropertiesTest.text())
                        .as((n, v, u, s) -> (Measurement) new MeasurementClaim(n, v, u, s)),
                Combinators.combine(text, text).as((n, r) -> (Measurement) new UnavailableMeasurement(n, r)));
        return Builders.withBuilder(() -> new Object[10])
                .use(text)
                .in((a, v) -> set(a, 0, v))
                .use(Arbitraries.longs().between(0, 253402300799999L).map(Instant::ofEpochMilli))
                .in((a, v) -> set(a, 1, v))
                .use(Arbitraries.longs().greaterOrEqual(0))
                .in((a, v) -> set(a, 2, v))
                .use(Arbitraries.bytes()
                        .array(byte[].class)
                        .ofMinSize(1)
                        .ofMaxSize(Limits.MAX_NONCE_BYTES)
                        .optional())
                .in((a, v) -> set(a, 3, v))
                .use(text)
                .in((a, v) -> set(a, 4, v))
                .use(Arbitraries.longs().between(0, Long.MAX_VALUE / 1_000_000).map(Duration::ofMillis))
                .in((a, v) -> set(a, 5, v))
                .use(measurement.list().ofMaxSize(12))
                .in((a, v) -> set(a, 6, v))
                .use(text)
                .in((a, v) -> set(a, 7, v))
                .use(Arbitraries.bytes().array(byte[].class).ofSize(32))
                .in((a, v) -> set(a, 8, v))
                .use(Arbitraries.oneOf(Arbitraries.just(0L), Arbitraries.longs().between(1, 1000)))
                .in((a, v) -> set(a, 9, v))
                .build(a -> new ReportInput(
                        (String) a[0],
                        (Instant) a[1],
                        (Long) a[2],
                        cast(a[3]),
                        (String) a[4],
                        (Duration) a[5],
                        cast(a[6]),
                        (String) a[7],
                        (byte[]) a[8],
                        (Long) a[9]));
    }

    private static Object[] set(Object[] a, int i, Object v) {
        a[i] = v;
        return a;
    }

    @SuppressWarnings("unchecked")
    private static <T> T cast(Object o) {
        return (T) o;
    }

    static Optional<byte[]> none() {
        return Optional.empty();
    }
}
