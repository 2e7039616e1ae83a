package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ReceiptTest {
    private final Appraiser appraiser = Fixtures.appraiser();

    @Test
    void anAcceptanceRoundTripsAndNamesTheReport() throws Exception {
        var report = Fixtures.signer().sign(Fixtures.input());
        var receipt = Receipt.of(appraiser.appraise(report.bytes()), report.bytes(), appraiser.config());
        var back = Receipt.decode(receipt.encode());
        assertEquals(receipt, back);
        assertTrue(back.ok());
        assertEquals(report.claims().device(), back.device().orElseThrow());
        assertEquals(1, back.seq().getAsLong());
        assertArrayEquals(report.hash(), back.reportHash());
        assertEquals(Fixtures.NOW, back.at());
    }

    @Test
    void aRejectionCarriesItsReasonCode() throws Exception {
        byte[] garbage = {1, 2, 3};
        var receipt = Receipt.decode(Receipt.of(appraiser.appraise(garbage), garbage, appraiser.config()).encode());
        assertFalse(receipt.ok());
        assertEquals(ReasonCode.MALFORMED, receipt.reason().orElseThrow());
        assertTrue(receipt.device().isEmpty());
    }

    @Test
    void aSignedReceiptVerifiesOnlyWithTheVerifiersKey() throws Exception {
        var verifier = DeviceKeys.generate();
        var report = Fixtures.signer().sign(Fixtures.input());
        var receipt = Receipt.of(appraiser.appraise(report.bytes()), report.bytes(), appraiser.config());
        byte[] signed = receipt.sign(verifier);
        assertEquals(receipt, Receipt.verify(signed, verifier.publicKey()));
        assertThrows(MalformedReportException.class, () -> Receipt.verify(signed, DeviceKeys.generate().publicKey()));
    }

    @Test
    void everyReasonCodeIsStableKebabCaseAndParsesBack() {
        for (var r : ReasonCode.values()) {
            assertTrue(r.code().matches("[a-z]+(-[a-z]+)*"), r.code());
            assertEquals(r, ReasonCode.fromCode(r.code()).orElseThrow());
        }
    }

    @Test
    void theDeviceLearnsFromAReceiptThatItsClockIsOff() {
        var report = Fixtures.signer().sign(Fixtures.input());
        var receipt = Receipt.of(appraiser.appraise(report.bytes()), report.bytes(), appraiser.config());
        var fine = ClockCheck.of(receipt, Fixtures.NOW.minusMillis(100), Fixtures.NOW.plusMillis(300));
        assertEquals(Duration.ofMillis(100), fine.offset());
        assertFalse(fine.outsideWindow());
        var off = ClockCheck.of(receipt, Fixtures.NOW.plus(Duration.ofMinutes(7)), Fixtures.NOW.plus(Duration.ofMinutes(7)));
        assertTrue(off.outsideWindow());
        assertTrue(off.describe().contains("ahead of"), off.describe());
        assertTrue(off.describe().contains("NTP"), off.describe());
    }
}
