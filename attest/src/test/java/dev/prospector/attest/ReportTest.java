package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ReportTest {
    @Test
    void aSignedReportDecodesToTheSameClaimsAndVerifies() throws Exception {
        var signer = Fixtures.signer();
        var report = signer.sign(Fixtures.input());
        var decoded = Report.decode(report.bytes());
        assertEquals(report.claims(), decoded.claims());
        assertTrue(decoded.verifySignature());
        assertEquals(signer.keys().deviceId(), decoded.claims().device());
    }

    @Test
    void isATaggedCoseSign1WithEdDsaAndTheDeviceIdAsKid() throws Exception {
        var signer = Fixtures.signer();
        byte[] bytes = signer.sign(Fixtures.input()).bytes();
        assertEquals((byte) 0xd2, bytes[0], "CBOR tag 18");
        assertEquals((byte) 0x84, bytes[1], "array of 4");
        var parts = CoseSign1.decode(bytes);
        assertArrayEquals(signer.keys().deviceId().kid(), parts.kid());
        assertEquals(
                Cbor.map()
                        .put(1, new Cbor.Int(-8))
                        .put(4, new Cbor.Bytes(parts.kid()))
                        .build(),
                Cbor.decode(parts.protectedHeader()));
    }

    @Test
    void firstReportStartsAChainAndTheNextPointsBackAtIt() {
        var signer = Fixtures.signer();
        var first = signer.sign(Fixtures.input());
        var second = signer.sign(Fixtures.input());
        assertEquals(1, first.claims().seq());
        assertTrue(first.claims().prev().isEmpty());
        assertEquals("no-state", first.claims().restart().orElseThrow());
        assertEquals(2, second.claims().seq());
        assertArrayEquals(first.hash(), second.claims().prev().orElseThrow());
        assertTrue(second.claims().restart().isEmpty());
        assertArrayEquals(first.claims().chain(), second.claims().chain());
    }

    @Test
    void aChangedByteInThePayloadFailsTheSignature() throws Exception {
        var signer = Fixtures.signer();
        byte[] bytes = signer.sign(Fixtures.input()).bytes();
        // Change the software version text "0.1.0" to "0.1.1": still a well-formed report.
        String hex = Hex.encode(bytes);
        String tampered = hex.replace(Hex.encode("0.1.0".getBytes()), Hex.encode("0.1.1".getBytes()));
        var decoded = Report.decode(Hex.decode(tampered));
        assertFalse(decoded.verifySignature());
    }

    @Test
    void aReportSignedByAnotherKeyThanItsOwnFailsTheSignature() throws Exception {
        var mine = DeviceKeys.generate();
        var other = DeviceKeys.generate();
        var claims = Report.decode(new ReportSigner(mine, ChainState.inMemory())
                        .sign(Fixtures.input())
                        .bytes())
                .claims();
        byte[] forged = CoseSign1.sign(mine.deviceId().kid(), claims.encode(), other);
        assertFalse(Report.decode(forged).verifySignature());
    }

    @Test
    void truncatedOrRandomBytesAreMalformed() {
        byte[] bytes = Fixtures.signer().sign(Fixtures.input()).bytes();
        assertThrows(
                MalformedReportException.class, () -> Report.decode(java.util.Arrays.copyOf(bytes, bytes.length - 1)));
        assertThrows(MalformedReportException.class, () -> Report.decode(new byte[0]));
        assertThrows(MalformedReportException.class, () -> Report.decode("hello world".getBytes()));
    }

    @Test
    void aReportOverTheSizeLimitIsMalformedBeforeDecoding() {
        var e = assertThrows(
                MalformedReportException.class, () -> Report.decode(new byte[Limits.MAX_REPORT_BYTES + 1]));
        assertTrue(e.getMessage().contains("exceeds the limit"), e.getMessage());
    }
}
