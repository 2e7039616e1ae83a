package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Claim {@code lost}: reports the device dropped unsent, declared so a gap is explained. */
class LostClaimTest {
    private final DeviceKeys keys = DeviceKeys.generate();

    private ReportInput input(long lost) {
        return new ReportInput(
                "f",
                Instant.parse("2026-11-26T09:00:00Z"),
                7,
                Optional.empty(),
                "boot",
                Duration.ofSeconds(5),
                List.of(new MeasurementClaim("uptime", 5, "s", "test")),
                "1.0",
                new byte[32],
                lost);
    }

    @Test
    void aDeclaredLossSurvivesEncodingAndSigning() throws Exception {
        ReportSigner signer = new ReportSigner(keys, ChainState.inMemory());
        signer.sign(input(0));
        SignedReport second = signer.sign(input(1));
        Report decoded = Report.decode(second.bytes());
        assertEquals(1, decoded.claims().lost());
        assertTrue(decoded.verifySignature());
    }

    @Test
    void noLossLeavesTheClaimOut() throws Exception {
        SignedReport first = new ReportSigner(keys, ChainState.inMemory()).sign(input(0));
        assertEquals(0, Report.decode(first.bytes()).claims().lost());
        assertFalse(new String(first.claims().encode(), java.nio.charset.StandardCharsets.ISO_8859_1).contains("lost"));
    }

    @Test
    void anExplicitZeroIsNotTheDeterministicFormAndIsRejected() throws Exception {
        // Build the payload by hand with "lost": 0 and check the decoder refuses it.
        Claims c = new ReportSigner(keys, ChainState.inMemory()).sign(input(0)).claims();
        var m = Cbor.decode(c.encode());
        var builder = Cbor.map();
        ((Cbor.MapValue) m).entries().forEach(e -> builder.put(((Cbor.Text) e.key()).value(), e.value()));
        builder.put(Claims.LOST, new Cbor.Int(0));
        byte[] payload = Cbor.encode(builder.build());
        MalformedReportException e = assertThrows(MalformedReportException.class, () -> Claims.decode(payload));
        assertTrue(e.getMessage().contains("lost"), e.getMessage());
    }

    @Test
    void aDeviceCannotDeclareMoreLossesThanReportsBeforeThisOne() {
        SignedReport first = new ReportSigner(keys, ChainState.inMemory()).sign(input(5));
        assertEquals(0, first.claims().lost(), "the first report of a chain has nothing before it to lose");
    }
}
