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
    void aChallengeRoundTripsAndTheNextReportAnswersIt() throws Exception {
        var challenges = new ChallengeStore(Fixtures.CLOCK, Limits.CHALLENGE_TTL);
        var verifier = new Appraiser(
                AppraiserConfig.defaults().withClock(Fixtures.CLOCK).withChallenges(challenges, false));
        var signer = Fixtures.signer();
        var first = signer.sign(Fixtures.input());
        var outcome = verifier.appraise(first.bytes());
        var device = ((Appraisal.Accepted) outcome).device();
        var receipt = Receipt.of(outcome, first.bytes(), verifier.config())
                .withChallenge(new Receipt.Challenge(challenges.issue(device), challenges.ttl()));
        var back = Receipt.decode(receipt.encode());
        assertEquals(receipt, back);
        var challenge = back.challenge().orElseThrow();
        assertEquals(Limits.CHALLENGE_TTL, challenge.ttl());
        var i = Fixtures.input();
        var answer = signer.sign(new ReportInput(
                i.fleet(),
                i.iat(),
                i.epoch(),
                java.util.Optional.of(challenge.nonce()),
                i.bootId(),
                i.uptime(),
                i.measurements(),
                i.softwareVersion(),
                i.configHash()));
        assertTrue(verifier.appraise(answer.bytes()) instanceof Appraisal.Accepted, "the answer is accepted");
        assertArrayEquals(challenge.nonce(), answer.claims().nonce().orElseThrow());
    }

    @Test
    void aChallengeWithoutItsLifetimeIsMalformed() {
        byte[] plain = Receipt.of(appraiser.appraise(new byte[] {1}), new byte[] {1}, appraiser.config())
                .encode();
        // One more key, "challenge": h'01', sorted last (longest key); the map head grows by one.
        String hex = Hex.encode(plain);
        int size = plain[0] & 0x1f;
        byte[] half = Hex.decode(
                Hex.encode(new byte[] {(byte) (0xa0 | (size + 1))}) + hex.substring(2) + "696368616c6c656e67654101");
        assertThrows(MalformedReportException.class, () -> Receipt.decode(half));
    }

    @Test
    void aRejectionCarriesItsReasonCode() throws Exception {
        byte[] garbage = {1, 2, 3};
        var receipt = Receipt.decode(Receipt.of(appraiser.appraise(garbage), garbage, appraiser.config())
                .encode());
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
        assertThrows(
                MalformedReportException.class,
                () -> Receipt.verify(signed, DeviceKeys.generate().publicKey()));
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
        var off = ClockCheck.of(
                receipt, Fixtures.NOW.plus(Duration.ofMinutes(7)), Fixtures.NOW.plus(Duration.ofMinutes(7)));
        assertTrue(off.outsideWindow());
        assertTrue(off.describe().contains("ahead of"), off.describe());
        assertTrue(off.describe().contains("NTP"), off.describe());
    }
}
