package dev.prospector.bench.jmh;

import dev.prospector.attest.Audit;
import dev.prospector.attest.AuditAnswer;
import dev.prospector.attest.BandwidthReceipt;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.Plot;
import dev.prospector.attest.PlotParams;
import dev.prospector.attest.Sha256;
import dev.prospector.bench.EmulatedReports;
import dev.prospector.bench.PosPlot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.math.ec.rfc8032.Ed25519;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The pieces of proofs of service (issue 12) on one thread: {@link Plot#label} of one 1 KiB leaf
 * (what plotting and a cheater's regeneration repeat per leaf), the verifier's {@link Audit#check}
 * of an honest answer (8 audited leaves, 24 openings of 1 KiB with paths of
 * {@code log2(leaves)}), a bandwidth receipt's {@link BandwidthReceipt#open} and
 * {@code signedBy}, and one Ed25519 verification beside them for the ratio ({@code prospector
 * bench pos} measures the same ratios in alternating slices).
 *
 * <p>{@code auditCheck} needs a real plot (the audited indices follow from its root): the trial
 * plots {@code leaves} leaves of 1 KiB into a temporary file with {@link PosPlot} (2^20 leaves, 1
 * GiB, take a minute or so; {@code -p leaves=65536} for a quick run) and removes it afterwards.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ProofOfServiceBenchmark {
    static final int POOL = 32;

    /** Two 1 KiB input leaves and an output leaf. */
    @State(Scope.Thread)
    public static class Leaves {
        final byte[] id = new byte[32];
        final byte[] previous = new byte[Plot.DEFAULT_LEAF_SIZE];
        final byte[] parent = new byte[Plot.DEFAULT_LEAF_SIZE];
        final byte[] out = new byte[Plot.DEFAULT_LEAF_SIZE];
        final MessageDigest md = Sha256.newDigest();
        long index = 1;

        @Setup(Level.Trial)
        public void fill() {
            var random = new SecureRandom();
            random.nextBytes(id);
            random.nextBytes(previous);
            random.nextBytes(parent);
        }
    }

    /** An honest plot on disk and {@value #POOL} answers to distinct audits of it. */
    @State(Scope.Benchmark)
    public static class Answers {
        @Param("1048576")
        long leaves;

        DeviceId device;
        PosPlot plot;
        byte[][] nonces;
        AuditAnswer[] answers;
        int next;

        @Setup(Level.Trial)
        public void plot() throws IOException {
            var random = new SecureRandom();
            byte[] seed = new byte[PlotParams.SEED_BYTES];
            random.nextBytes(seed);
            device = DeviceKeys.generate().deviceId();
            Path file = Files.createTempFile("prospector-jmh-plot-", ".bin");
            long start = System.nanoTime();
            plot = PosPlot.create(
                    file, device, new PlotParams(seed, leaves, Plot.DEFAULT_LEAF_SIZE), PosPlot.Progress.NONE);
            System.out.printf("plotted %d leaves in %.1f s%n", leaves, (System.nanoTime() - start) / 1e9);
            nonces = new byte[POOL][16];
            answers = new AuditAnswer[POOL];
            for (int i = 0; i < POOL; i++) {
                random.nextBytes(nonces[i]);
                answers[i] = plot.answer(nonces[i], Audit.DEFAULT_LEAVES);
            }
            plot.close();
            Files.delete(file);
        }
    }

    /** Receipts signed by four endpoint keys, and distinct signed reports for the verify baseline. */
    @State(Scope.Thread)
    public static class Signed {
        byte[][] receipts = new byte[256][];
        byte[][] receiptKeys = new byte[256][];
        EmulatedReports.Signed reports;
        int nextReceipt;
        int nextReport;

        @Setup(Level.Trial)
        public void sign() {
            var random = new SecureRandom();
            var device = DeviceKeys.generate().deviceId();
            var endpoints = new DeviceKeys[] {
                DeviceKeys.generate(), DeviceKeys.generate(), DeviceKeys.generate(), DeviceKeys.generate()
            };
            var directions = BandwidthReceipt.Direction.values();
            for (int i = 0; i < receipts.length; i++) {
                byte[] nonce = new byte[16];
                random.nextBytes(nonce);
                var endpoint = endpoints[i % endpoints.length];
                receipts[i] = new BandwidthReceipt(
                                device,
                                nonce,
                                directions[i % directions.length],
                                8L << 20,
                                Duration.ofMillis(700 + i),
                                Instant.now())
                        .sign(endpoint);
                receiptKeys[i] = endpoint.publicKey();
            }
            reports = EmulatedReports.signedStructures(16, 256);
        }
    }

    @Benchmark
    public byte[] label(Leaves l) {
        Plot.label(l.id, l.index++, l.previous, l.parent, l.out, l.md);
        return l.out;
    }

    @Benchmark
    public Audit.Check auditCheck(Answers a) {
        int i = a.next++ & (POOL - 1);
        var c = Audit.check(a.device, a.plot.commitment(), a.nonces[i], Audit.DEFAULT_LEAVES, a.answers[i]);
        if (!(c instanceof Audit.Check.Passed)) {
            throw new IllegalStateException("an honest answer failed: " + c);
        }
        return c;
    }

    @Benchmark
    public boolean receiptOpenVerify(Signed s) throws MalformedReportException {
        int i = s.nextReceipt++ & 255;
        return BandwidthReceipt.open(s.receipts[i]).signedBy(s.receiptKeys[i]);
    }

    @Benchmark
    public boolean ed25519Verify(Signed s) {
        int i = s.nextReport++ & 255;
        byte[] tbs = s.reports.tbs()[i];
        return Ed25519.verify(s.reports.sigs()[i], 0, s.reports.points()[i], tbs, 0, tbs.length);
    }
}
