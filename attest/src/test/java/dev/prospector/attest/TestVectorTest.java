package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The test vector printed in docs/EVIDENCE.md is what the code produces, byte for byte. */
class TestVectorTest {
    static final Path EVIDENCE = Path.of("..", "docs", "EVIDENCE.md");
    private static final Pattern HEX_BLOCK = Pattern.compile("```hex ([a-z-]+)\\n([0-9a-f\\n]+)```");
    private static Map<String, byte[]> page;

    @BeforeAll
    static void readThePage() throws Exception {
        page = new HashMap<>();
        var m = HEX_BLOCK.matcher(Files.readString(EVIDENCE, StandardCharsets.UTF_8));
        while (m.find()) {
            page.put(m.group(1), Hex.decode(m.group(2)));
        }
    }

    @Test
    void theKeyIsTheRfc8032TestKey() {
        assertArrayEquals(page.get("seed"), Hex.decode(TestVector.SEED_HEX));
        assertArrayEquals(page.get("public-key"), TestVector.keys().publicKey());
    }

    @Test
    void thePayloadIsTheDeterministicEncodingOfTheClaims() {
        assertEquals(
                Hex.encode(page.get("payload")), Hex.encode(TestVector.claims().encode()));
    }

    @Test
    void theProtectedHeaderSignatureAndReportAreTheDocumentedBytes() {
        byte[] report = TestVector.report();
        assertEquals(Hex.encode(page.get("report")), Hex.encode(report));
        assertEquals(
                Hex.encode(page.get("protected")),
                Hex.encode(
                        CoseSign1.protectedHeader(TestVector.keys().deviceId().kid())));
        assertEquals(
                Hex.encode(page.get("signature")),
                Hex.encode(java.util.Arrays.copyOfRange(report, report.length - 64, report.length)));
    }

    @Test
    void theDocumentedReportDecodesAndVerifies() throws Exception {
        var report = Report.decode(page.get("report"));
        assertTrue(report.verifySignature());
        assertEquals(TestVector.claims(), report.claims());
        assertTrue(Files.readString(EVIDENCE)
                .contains("Device id: `" + report.claims().device() + "`"));
    }

    /** An independent check: JDK Ed25519 over a Sig_structure assembled by hand from the page's bytes. */
    @Test
    void theJdksOwnEd25519VerifiesTheDocumentedReport() throws Exception {
        byte[] report = page.get("report");
        // d2 84 | 58 1f <31 protected> | a0 | 59 0230 <560 payload> | 58 40 <64 signature>
        assertEquals(0xd2, report[0] & 0xff);
        assertEquals(0x84, report[1] & 0xff);
        assertEquals(0x58, report[2] & 0xff);
        int protLen = report[3] & 0xff;
        int p = 4;
        byte[] prot = java.util.Arrays.copyOfRange(report, p, p + protLen);
        p += protLen;
        assertEquals(0xa0, report[p++] & 0xff);
        assertEquals(0x59, report[p++] & 0xff);
        int payloadLen = ((report[p] & 0xff) << 8) | (report[p + 1] & 0xff);
        p += 2;
        byte[] payload = java.util.Arrays.copyOfRange(report, p, p + payloadLen);
        p += payloadLen;
        assertEquals(0x58, report[p++] & 0xff);
        assertEquals(0x40, report[p++] & 0xff);
        byte[] sig = java.util.Arrays.copyOfRange(report, p, p + 64);
        assertEquals(report.length, p + 64);

        var tbs = new java.io.ByteArrayOutputStream();
        tbs.write(0x84);
        tbs.write(0x6a);
        tbs.writeBytes("Signature1".getBytes(StandardCharsets.US_ASCII));
        tbs.write(0x58);
        tbs.write(protLen);
        tbs.writeBytes(prot);
        tbs.write(0x40);
        tbs.write(0x59);
        tbs.write(payloadLen >> 8);
        tbs.write(payloadLen & 0xff);
        tbs.writeBytes(payload);

        // SubjectPublicKeyInfo for Ed25519 = 302a300506032b6570032100 || raw key
        byte[] spki = Hex.decode("302a300506032b6570032100" + Hex.encode(page.get("public-key")));
        var key = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
        var jdk = Signature.getInstance("Ed25519");
        jdk.initVerify(key);
        jdk.update(tbs.toByteArray());
        assertTrue(jdk.verify(sig));
        // and the key inside the payload is that key
        assertTrue(Hex.encode(payload).contains("636b65795820" + Hex.encode(page.get("public-key"))));
    }
}
