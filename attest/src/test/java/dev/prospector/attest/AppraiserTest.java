package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class AppraiserTest {
    private final Appraiser appraiser = Fixtures.appraiser();
    private final ReportSigner signer = Fixtures.signer();

    private Appraisal.Accepted accepted(Appraisal a) {
        return assertInstanceOf(Appraisal.Accepted.class, a, a::toString);
    }

    private Appraisal.Rejected rejected(Appraisal a, ReasonCode reason) {
        var r = assertInstanceOf(Appraisal.Rejected.class, a, a::toString);
        assertEquals(reason, r.reason(), r::toString);
        assertFalse(r.detail().isBlank());
        return r;
    }

    @Test
    void acceptsAChainOfReports() {
        for (int i = 1; i <= 5; i++) {
            var a = accepted(appraiser.appraise(signer.sign(Fixtures.input()).bytes()));
            assertEquals(i, a.seq());
            assertEquals(signer.keys().deviceId(), a.device());
            assertFalse(a.duplicate());
            assertEquals(0, a.gap());
        }
        assertEquals(5, appraiser.stats().accepted());
    }

    @Test
    void anExactDuplicateIsAcknowledgedAgainButCountedOnce() {
        byte[] r1 = signer.sign(Fixtures.input()).bytes();
        accepted(appraiser.appraise(r1));
        var again = accepted(appraiser.appraise(r1));
        assertTrue(again.duplicate());
        assertEquals(1, appraiser.stats().accepted());
        assertEquals(1, appraiser.stats().duplicates());
    }

    @Test
    void aGapIsAcceptedWithItsSizeRecorded() {
        accepted(appraiser.appraise(signer.sign(Fixtures.input()).bytes()));
        signer.sign(Fixtures.input());
        signer.sign(Fixtures.input());
        var a = accepted(appraiser.appraise(signer.sign(Fixtures.input()).bytes()));
        assertEquals(4, a.seq());
        assertEquals(2, a.gap());
        assertEquals(2, appraiser.stats().gapTotal());
    }

    @Test
    void aLateReportFillingAGapIsAccepted() {
        byte[] r1 = signer.sign(Fixtures.input()).bytes();
        byte[] r2 = signer.sign(Fixtures.input()).bytes();
        byte[] r3 = signer.sign(Fixtures.input()).bytes();
        accepted(appraiser.appraise(r1));
        accepted(appraiser.appraise(r3));
        var late = accepted(appraiser.appraise(r2));
        assertEquals(2, late.seq());
    }

    @Test
    void aDifferentReportWithAUsedSeqIsAReplay() {
        var keys = signer.keys();
        var state = ChainState.inMemory();
        // Two signers sharing one chain position: a forked device (or a cloned state file).
        accepted(appraiser.appraise(
                new ReportSigner(keys, state).sign(Fixtures.input()).bytes()));
        byte[] second = new ReportSigner(keys, state).sign(Fixtures.input()).bytes();
        accepted(appraiser.appraise(second));
        var claims = decode(second).claims();
        var fork = new Claims(
                claims.device(),
                claims.key(),
                claims.fleet(),
                claims.seq(),
                claims.prev(),
                claims.chain(),
                claims.iat(),
                claims.epoch() + 1,
                claims.nonce(),
                claims.bootId(),
                claims.uptime(),
                claims.measurements(),
                claims.softwareVersion(),
                claims.configHash(),
                claims.restart(),
                claims.rotations());
        var r = rejected(
                appraiser.appraise(CoseSign1.sign(keys.deviceId().kid(), fork.encode(), keys)), ReasonCode.REPLAY);
        assertEquals(2, r.seq().getAsLong());
        assertEquals(Optional.of(keys.deviceId()), r.device());
    }

    @Test
    void aReportWhosePrevIsNotThePreviousReportBreaksTheChain() {
        var keys = signer.keys();
        var first = signer.sign(Fixtures.input());
        accepted(appraiser.appraise(first.bytes()));
        var c = signer.sign(Fixtures.input()).claims();
        var broken = new Claims(
                c.device(),
                c.key(),
                c.fleet(),
                c.seq(),
                Optional.of(new byte[32]),
                c.chain(),
                c.iat(),
                c.epoch(),
                c.nonce(),
                c.bootId(),
                c.uptime(),
                c.measurements(),
                c.softwareVersion(),
                c.configHash(),
                c.restart(),
                c.rotations());
        rejected(
                appraiser.appraise(CoseSign1.sign(keys.deviceId().kid(), broken.encode(), keys)),
                ReasonCode.CHAIN_BREAK);
    }

    @Test
    void aChangedByteIsABadSignature() {
        byte[] bytes = signer.sign(Fixtures.input()).bytes();
        byte[] tampered =
                Hex.decode(Hex.encode(bytes).replace(Hex.encode("0.1.0".getBytes()), Hex.encode("0.1.1".getBytes())));
        rejected(appraiser.appraise(tampered), ReasonCode.BAD_SIGNATURE);
    }

    @Test
    void garbageIsMalformedWithoutDeviceOrSeq() {
        var r = rejected(appraiser.appraise(new byte[] {1, 2, 3}), ReasonCode.MALFORMED);
        assertTrue(r.device().isEmpty());
        assertTrue(r.seq().isEmpty());
    }

    static Report decode(byte[] bytes) {
        try {
            return Report.decode(bytes);
        } catch (MalformedReportException e) {
            throw new AssertionError(e);
        }
    }
}
