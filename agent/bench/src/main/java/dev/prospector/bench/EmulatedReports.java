package dev.prospector.bench;

import dev.prospector.agent.node.AgentWiring;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.CoseSign1;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.ReportInput;
import dev.prospector.attest.ReportSigner;
import dev.prospector.hardware.BoardConfig;
import dev.prospector.hardware.BoardSelection;
import dev.prospector.hardware.EmulatedBoard;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.Optional;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * Full-size reports for the micro benchmarks, made as {@code prospector bench crypto} makes them:
 * the emulated board's measurements (29 of them, about 2 KB signed), each report with its own iat,
 * seq and prev, signed by {@link ReportSigner} with a fresh device key. The one place the
 * benchmarks make reports: {@code bench crypto} and the JMH micro benchmarks share it.
 */
public final class EmulatedReports {
    /** What the agent reports on the emulated board, measured once per JVM. */
    private static final ReportInput TEMPLATE = measureEmulatedBoard();

    private EmulatedReports() {}

    /**
     * {@code perDevice} reports of each of {@code devices} devices, interleaved (device 0, 1, ...,
     * then each device's next report), so that every device's reports come in seq order.
     */
    public static byte[][] interleaved(int devices, int perDevice) {
        var signers = new ReportSigner[devices];
        for (int d = 0; d < devices; d++) {
            signers[d] = new ReportSigner(DeviceKeys.generate(), ChainState.inMemory());
        }
        Instant now = Instant.now();
        var out = new byte[devices * perDevice][];
        for (int i = 0; i < out.length; i++) {
            out[i] = signers[i % devices].sign(input(now)).bytes();
        }
        return out;
    }

    /**
     * The Sig_structures (what Ed25519 signs and verifies) of {@code count} distinct reports of
     * {@code devices} devices, with their signatures and the signers' decoded public points.
     */
    public static Signed signedStructures(int devices, int count) {
        var tbs = new byte[count][];
        var sigs = new byte[count][];
        var keys = new byte[count][];
        var points = new Ed25519.PublicPoint[count];
        Instant now = Instant.now();
        for (int d = 0; d < devices; d++) {
            var device = DeviceKeys.generate();
            var signer = new ReportSigner(device, ChainState.inMemory());
            var point = Ed25519.validatePublicKeyPartialExport(device.publicKey(), 0);
            for (int i = d; i < count; i += devices) {
                var report = signer.sign(input(now));
                tbs[i] = CoseSign1.toBeSigned(
                        CoseSign1.protectedHeader(device.deviceId().kid()),
                        report.claims().encode());
                sigs[i] = device.sign(tbs[i]);
                keys[i] = device.publicKey();
                points[i] = point;
            }
        }
        return new Signed(tbs, sigs, keys, points);
    }

    /** Sig_structures, their signatures, the raw public keys and the same keys decoded. */
    public record Signed(byte[][] tbs, byte[][] sigs, byte[][] keys, Ed25519.PublicPoint[] points) {}

    /** A report input of the emulated board's measurements, made at {@code iat}, answering no challenge. */
    public static ReportInput input(Instant iat) {
        var t = TEMPLATE;
        return new ReportInput(
                t.fleet(),
                iat,
                t.epoch(),
                Optional.empty(),
                t.bootId(),
                t.uptime(),
                t.measurements(),
                t.softwareVersion(),
                t.configHash(),
                0);
    }

    private static ReportInput measureEmulatedBoard() {
        try {
            Path dir = Files.createTempDirectory("prospector-bench");
            try (var board = new EmulatedBoard(BoardConfig.defaults(dir).withSelection(BoardSelection.EMULATED))) {
                return AgentWiring.reportFactory("bench", AgentWiring.configHash("bench"), Clock.systemUTC())
                        .input(board.measure(), Optional.empty());
            } finally {
                try (var files = Files.walk(dir)) {
                    files.sorted(Comparator.reverseOrder())
                            .forEach(f -> f.toFile().delete());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary folder for the emulated board", e);
        }
    }
}
