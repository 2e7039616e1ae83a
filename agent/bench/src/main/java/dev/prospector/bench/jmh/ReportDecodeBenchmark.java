package dev.prospector.bench.jmh;

import dev.prospector.attest.Claims;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.Report;
import dev.prospector.bench.EmulatedReports;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Decoding a full-size report (COSE_Sign1 around the claims: {@link Report#decode}) and its payload
 * alone ({@link Claims#decode}), as the verifier does before any signature check. The reports are
 * {@value #POOL} distinct ones of {@value #DEVICES} emulated-board devices, decoded in turn, so the
 * figures include what the decoder's lossy caches give on a verifier that hears from a few devices
 * (see {@link RecentCachesBenchmark} for what those caches are worth).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ReportDecodeBenchmark {
    /** Distinct reports decoded in turn (a power of two: the index is masked). */
    static final int POOL = 256;
    /** Devices that signed them. */
    static final int DEVICES = 16;

    private byte[][] reports;
    private byte[][] payloads;
    private int next;

    @Setup
    public void sign() throws MalformedReportException {
        reports = EmulatedReports.interleaved(DEVICES, POOL / DEVICES);
        payloads = new byte[POOL][];
        for (int i = 0; i < POOL; i++) {
            payloads[i] = Report.decode(reports[i]).payload();
        }
        System.out.printf("report: %d bytes, payload (claims): %d bytes%n", reports[0].length, payloads[0].length);
    }

    @Benchmark
    public Report reportDecode() throws MalformedReportException {
        return Report.decode(reports[next++ & (POOL - 1)]);
    }

    @Benchmark
    public Claims claimsDecode() throws MalformedReportException {
        return Claims.decode(payloads[next++ & (POOL - 1)]);
    }
}
