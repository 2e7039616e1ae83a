package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The independent verifier (attest/src/test/python/verify_report.py, written from docs/EVIDENCE.md
 * with only the Python standard library) agrees with the Java code. Needs python3 on the PATH;
 * skipped without it.
 */
class PythonVerifierIT {
    static final Path SCRIPT = Path.of("src", "test", "python", "verify_report.py");

    @TempDir
    Path dir;

    record Run(int exit, String out) {}

    @BeforeAll
    static void needsPython() {
        boolean present = false;
        try {
            var p = new ProcessBuilder("python3", "--version")
                    .redirectErrorStream(true)
                    .start();
            present = p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            present = false;
        }
        // Skipped without python3 (a bare Debian image has none; .ci/run should install python3-minimal).
        // TestVectorTest's JDK-only check of the vector always runs.
        assumeTrue(present, "python3 is not installed");
    }

    private Run run(String... args) throws Exception {
        var cmd = new java.util.ArrayList<String>();
        cmd.add("python3");
        cmd.add(SCRIPT.toString());
        cmd.addAll(java.util.List.of(args));
        var p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return new Run(p.exitValue(), out);
    }

    @Test
    void itsEd25519PassesTheRfc8032Vectors() throws Exception {
        var r = run("--self-test");
        assertEquals(0, r.exit(), r.out());
    }

    @Test
    void itVerifiesTheTestVector() throws Exception {
        Path f = dir.resolve("vector.cbor");
        Files.write(f, TestVector.report());
        var r = run(f.toString());
        assertEquals(0, r.exit(), r.out());
        assertTrue(r.out().contains("signature: valid"), r.out());
        assertTrue(r.out().contains(TestVector.keys().deviceId().value()), r.out());
    }

    @Test
    void itVerifiesAFreshReportOfADeviceThatRotatedItsKey() throws Exception {
        var keys = DeviceKeys.generate().rotate(Fixtures.NOW).rotate(Fixtures.NOW);
        var signer = new ReportSigner(keys, ChainState.inMemory());
        signer.sign(Fixtures.input());
        Path f = dir.resolve("rotated.cbor");
        Files.write(f, signer.sign(Fixtures.input()).bytes());
        var r = run(f.toString());
        assertEquals(0, r.exit(), r.out());
        assertTrue(r.out().contains("signature: valid"), r.out());
    }

    @Test
    void itRejectsATamperedReport() throws Exception {
        byte[] bytes = Fixtures.signer().sign(Fixtures.input()).bytes();
        String tampered = Hex.encode(bytes).replace(Hex.encode("0.1.0".getBytes()), Hex.encode("0.1.1".getBytes()));
        Path f = dir.resolve("tampered.hex");
        Files.writeString(f, tampered);
        var r = run(f.toString());
        assertEquals(1, r.exit(), r.out());
        assertTrue(r.out().contains("signature: invalid"), r.out());
    }

    @Test
    void itRejectsANonDeterministicEncoding() throws Exception {
        var keys = DeviceKeys.generate();
        byte[] payload = new ReportSigner(keys, ChainState.inMemory())
                .sign(Fixtures.input())
                .claims()
                .encode();
        String hex = Hex.encode(payload).replaceFirst("617601", "61761801");
        Path f = dir.resolve("long.cbor");
        Files.write(f, CoseSign1.sign(keys.deviceId().kid(), Hex.decode(hex), keys));
        var r = run(f.toString());
        assertEquals(1, r.exit(), r.out());
        assertTrue(r.out().startsWith("malformed"), r.out());
    }

    /** A report answering an audit over a small plot of {@code keys}' device, made by the Java code. */
    private static byte[] auditedReport(DeviceKeys keys, boolean damage) {
        var params = new PlotParams(new byte[PlotParams.SEED_BYTES], 64, 128);
        var plot = new ProofOfServiceTest.MemoryPlot(keys.deviceId(), params);
        byte[] nonce = {5, 6, 7, 8};
        if (damage) {
            long audited = Audit.indices(nonce, plot.commitment, 8)[0];
            plot.leaves[(int) audited][3] ^= 1;
        }
        var input = new ReportInput(
                        "alpha",
                        Fixtures.NOW,
                        42,
                        java.util.Optional.of(nonce),
                        "6f1c2a3e-7d55-4b1f-9a4e-0e7b4c1d2f10",
                        java.time.Duration.ofMillis(3_600_250),
                        Fixtures.measurements(),
                        "0.1.0",
                        Fixtures.CONFIG_HASH)
                .withService(java.util.Optional.of(
                        ServiceEvidence.run(1).withPlot(plot.commitment).withAudit(plot.answer(nonce, 8))));
        return new ReportSigner(keys, ChainState.inMemory()).sign(input).bytes();
    }

    @Test
    void itChecksAStorageAuditAnswerWithThePlotFunctionOfTheDocument() throws Exception {
        var keys = DeviceKeys.generate();
        byte[] report = auditedReport(keys, false);
        var evidence =
                Claims.decode(CoseSign1.decode(report).payload()).service().orElseThrow();
        assertEquals(
                new Audit.Check.Passed(8),
                Audit.check(
                        keys.deviceId(),
                        evidence.plot().orElseThrow(),
                        new byte[] {5, 6, 7, 8},
                        8,
                        evidence.audit().orElseThrow()),
                "the Java check passes");
        Path f = dir.resolve("audited.cbor");
        Files.write(f, report);
        var r = run(f.toString());
        assertEquals(0, r.exit(), r.out());
        assertTrue(r.out().contains("storage audit: passed (8 leaves)"), r.out());
    }

    @Test
    void itFailsAStorageAuditAnswerWithADamagedLeaf() throws Exception {
        Path f = dir.resolve("damaged.cbor");
        Files.write(f, auditedReport(DeviceKeys.generate(), true));
        var r = run(f.toString());
        assertEquals(1, r.exit(), r.out());
        assertTrue(r.out().contains("storage audit: failed: leaf"), r.out());
        assertTrue(r.out().contains("signature: valid"), r.out());
    }
}
