package dev.prospector.bench.jmh;

import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.bench.EmulatedReports;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One appraisal of a full-size report next to the one Ed25519 verification inside it, on one
 * thread, so that their ratio (the appraisal's cost beyond its signature) shows in one table. This
 * is the one-core counterpart of {@code prospector bench crypto}'s all-core ratio (target: an
 * appraisal costs at most 1 / 0.9 of a verification).
 *
 * <p>Every appraisal is of a new, valid report: {@code reports} of them are signed before the
 * trial (devices interleaved, each device's in seq order) and each iteration starts a fresh
 * {@link Appraiser} at the first one. An iteration that runs out throws, rather than measure
 * duplicates: raise {@code -p reports=} with longer iterations ({@code -r}). The verify figures use
 * {@value #VERIFY_POOL} distinct Sig_structures of real reports, as the verifier checks them: with
 * the device's key decoded once ({@code ed25519Verify}) or decoded on every call
 * ({@code ed25519VerifyDecodingKey}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class AppraisalBenchmark {
    /** Devices whose reports the appraisals interleave, as {@code bench crypto} does. */
    static final int DEVICES = 64;
    /** Distinct signatures the verify benchmarks check in turn (a power of two). */
    static final int VERIFY_POOL = 256;
    /** Devices that signed them. */
    static final int VERIFY_DEVICES = 16;

    /** New, valid reports and the appraiser that has seen none of them at the start of an iteration. */
    @State(Scope.Thread)
    public static class Reports {
        /** Reports signed for the appraisals: one iteration of 1 s at about 10,000/s, with room. */
        @Param("24000")
        int reports;

        byte[][] queue;
        int next;
        Appraiser appraiser;
        long rejected;

        @Setup(Level.Trial)
        public void sign() {
            queue = EmulatedReports.interleaved(DEVICES, Math.max(1, reports / DEVICES));
            System.out.printf("%d reports of %d bytes signed for the appraisals%n", queue.length, queue[0].length);
        }

        @Setup(Level.Iteration)
        public void freshAppraiser() {
            appraiser = new Appraiser(AppraiserConfig.defaults().withFleet("bench"));
            next = 0;
            rejected = 0;
        }

        @TearDown(Level.Iteration)
        public void everyReportAccepted() {
            if (rejected > 0) {
                throw new IllegalStateException(rejected + " of " + next + " benchmark reports were rejected");
            }
        }
    }

    /** Distinct Sig_structures of real reports with their signatures and keys. */
    @State(Scope.Thread)
    public static class Signatures {
        EmulatedReports.Signed signed;
        int next;

        @Setup(Level.Trial)
        public void sign() {
            signed = EmulatedReports.signedStructures(VERIFY_DEVICES, VERIFY_POOL);
        }
    }

    @Benchmark
    public Appraisal appraise(Reports r) {
        if (r.next == r.queue.length) {
            throw new IllegalStateException("all " + r.queue.length + " reports were appraised within one iteration:"
                    + " sign more with -p reports=N or shorten the iterations (-r)");
        }
        Appraisal a = r.appraiser.appraise(r.queue[r.next++]);
        if (!(a instanceof Appraisal.Accepted accepted) || accepted.duplicate()) {
            r.rejected++;
        }
        return a;
    }

    @Benchmark
    public boolean ed25519Verify(Signatures s) {
        int i = s.next++ & (VERIFY_POOL - 1);
        byte[] tbs = s.signed.tbs()[i];
        return Ed25519.verify(s.signed.sigs()[i], 0, s.signed.points()[i], tbs, 0, tbs.length);
    }

    @Benchmark
    public boolean ed25519VerifyDecodingKey(Signatures s) {
        int i = s.next++ & (VERIFY_POOL - 1);
        byte[] tbs = s.signed.tbs()[i];
        return Ed25519.verify(s.signed.sigs()[i], 0, s.signed.keys()[i], 0, tbs, 0, tbs.length);
    }
}
