package dev.prospector.bench.jmh;

import dev.prospector.attest.DeviceId;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.Report;
import dev.prospector.bench.EmulatedReports;
import java.lang.reflect.Field;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
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
 * What the report decoder's two global lossy caches are worth: {@code Cbor.RecentTexts} (short
 * ASCII texts that repeat from report to report: measurement names, units, sources, fleet, device
 * id; a hit returns the same String and lets the text checks skip their scan) and
 * {@code DeviceId.RECENT} (the device id derived from the report's first key: a hit saves a
 * SHA-256 and a base32 encoding).
 *
 * <p>Attest offers no switch for either, and this module may not change attest, so "off" is
 * approximated from outside: before every invocation the chosen tables are emptied (their private
 * arrays, reached by reflection), so every lookup in the measured decode misses. A miss is not the
 * same as no cache: it also stores what it decoded (one String, one small record and a copy of the
 * bytes per text; one record and a key copy per id), and a text stored during the decode is then
 * "plain" for the checks that follow in the same decode. So {@code off} minus {@code on} is what
 * the caches save on a warm verifier, including the cost of filling them, a slight overstatement of
 * the saving against a decoder without caches. A real switch in attest (a {@code static final
 * boolean} read from a system property, say {@code prospector.attest.decodeCaches}, that makes
 * {@code Reader.repeatedText} decode with {@code utf8}, {@code isPlainText} answer false and
 * {@code DeviceId.of} compute) would measure the difference exactly at no cost when on.
 *
 * <p>All four variants pay the same per-invocation setup (JMH reads the clock around every call),
 * so compare them with one another, not with {@link ReportDecodeBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class RecentCachesBenchmark {
    static final int POOL = ReportDecodeBenchmark.POOL;

    /** Which caches start every decode empty: none, the texts, the device ids, or both. */
    @Param({"on", "texts-off", "ids-off", "off"})
    String caches;

    private byte[][] reports;
    private int next;
    private Object[][] flushed;

    @Setup(Level.Trial)
    public void sign() throws ReflectiveOperationException {
        reports = EmulatedReports.interleaved(ReportDecodeBenchmark.DEVICES, POOL / ReportDecodeBenchmark.DEVICES);
        Object recentTexts = field(Class.forName("dev.prospector.attest.Cbor"), "RECENT_TEXTS")
                .get(null);
        Object[] textSlots = (Object[]) field(recentTexts.getClass(), "slots").get(recentTexts);
        Object[] plainTexts = (Object[]) field(recentTexts.getClass(), "plain").get(recentTexts);
        Object[] deviceIds = (Object[]) field(DeviceId.class, "RECENT").get(null);
        flushed = switch (caches) {
            case "on" -> new Object[0][];
            case "texts-off" -> new Object[][] {textSlots, plainTexts};
            case "ids-off" -> new Object[][] {deviceIds};
            case "off" -> new Object[][] {textSlots, plainTexts, deviceIds};
            default ->
                throw new IllegalArgumentException("caches must be on, texts-off, ids-off or off, not " + caches);
        };
    }

    /** A private field of attest, made readable; fails with the field's name when attest renamed it. */
    private static Field field(Class<?> owner, String name) throws NoSuchFieldException {
        Field f = owner.getDeclaredField(name);
        f.setAccessible(true);
        return f;
    }

    @Setup(Level.Invocation)
    public void empty() {
        for (Object[] table : flushed) {
            Arrays.fill(table, null);
        }
    }

    @Benchmark
    public Report reportDecode() throws MalformedReportException {
        return Report.decode(reports[next++ & (POOL - 1)]);
    }
}
