package dev.prospector.agent.dashboard;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.prospector.agent.node.NodeObserver;
import dev.prospector.attest.ReasonCode;
import dev.prospector.attest.Receipt;
import dev.prospector.hardware.Snapshot;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the dashboard remembers of the node beyond its counters: the last reports and their
 * receipts, rejections by reason, reconnects, the last two rounds of measurements (for traffic
 * rates), what the verifier last said of the proofs of service, and per epoch the share of time
 * connected and the reports accepted. Everything is bounded ({@link #REPORTS_KEPT} reports,
 * {@link #EPOCHS_KEPT} epochs) and in memory: a restart starts the charts afresh.
 */
final class BoardRecord implements NodeObserver {
    static final int REPORTS_KEPT = 50;
    /** A week of hourly epochs. */
    static final int EPOCHS_KEPT = 7 * 24;

    private static final Pattern REPUTATION = Pattern.compile("reputation ([0-9.]+)");
    private static final Pattern BANDWIDTH = Pattern.compile("down ([0-9.]+|n/a|-), up ([0-9.]+|n/a|-) Mbit/s");
    private static final Pattern COMMITTED = Pattern.compile("plot committed \\(([0-9]+) bytes\\)");

    /** One report and, once it came, its receipt. */
    record ReportLine(
            long seq,
            Instant made,
            int bytes,
            Optional<Boolean> accepted,
            Optional<ReasonCode> reason,
            String detail,
            Optional<Instant> receiptAt) {}

    /** One epoch: time sampled and connected in it, receipts accepted and rejected in it. */
    record Epoch(Instant start, long sampledMillis, long connectedMillis, long accepted, long rejected) {
        double uptime() {
            return sampledMillis == 0 ? 0 : (double) connectedMillis / sampledMillis;
        }
    }

    private final Duration epochLength;
    private final Instant started;
    private final AtomicLong connects = new AtomicLong();
    private volatile Optional<Snapshot> last = Optional.empty();
    private volatile Optional<Snapshot> previous = Optional.empty();
    private volatile Optional<Double> reputation = Optional.empty();
    private volatile Optional<double[]> bandwidth = Optional.empty();
    private volatile Optional<Long> committedBytes = Optional.empty();
    private volatile Optional<String> serviceNote = Optional.empty();
    private volatile Optional<Instant> lastReceiptAt = Optional.empty();

    @GuardedBy("this")
    private final ArrayDeque<ReportLine> reports = new ArrayDeque<>();

    @GuardedBy("this")
    private final Map<ReasonCode, Long> rejections = new EnumMap<>(ReasonCode.class);

    @GuardedBy("this")
    private final ArrayDeque<Epoch> epochs = new ArrayDeque<>();

    @GuardedBy("this")
    private Instant lastSample;

    BoardRecord(Duration epochLength, Instant started) {
        this.epochLength = epochLength;
        this.started = started;
        this.lastSample = started;
    }

    Instant started() {
        return started;
    }

    @Override
    public void measured(Snapshot snapshot) {
        previous = last;
        last = Optional.of(snapshot);
    }

    @Override
    public synchronized void made(long seq, int bytes, Instant at) {
        reports.addLast(new ReportLine(seq, at, bytes, Optional.empty(), Optional.empty(), "", Optional.empty()));
        while (reports.size() > REPORTS_KEPT) {
            reports.removeFirst();
        }
    }

    @Override
    public void receipt(long seq, Receipt r, Instant at) {
        lastReceiptAt = Optional.of(at);
        r.service().ifPresent(this::heard);
        synchronized (this) {
            List<ReportLine> copy = new ArrayList<>(reports);
            reports.clear();
            for (ReportLine l : copy) {
                reports.addLast(
                        l.seq() == seq
                                ? new ReportLine(
                                        l.seq(),
                                        l.made(),
                                        l.bytes(),
                                        Optional.of(r.ok()),
                                        r.reason(),
                                        r.detail(),
                                        Optional.of(at))
                                : l);
            }
            r.reason().ifPresent(code -> rejections.merge(code, 1L, Long::sum));
            Epoch e = epoch(at);
            replaceLast(new Epoch(
                    e.start(),
                    e.sampledMillis(),
                    e.connectedMillis(),
                    e.accepted() + (r.ok() ? 1 : 0),
                    e.rejected() + (r.ok() ? 0 : 1)));
        }
    }

    /** Takes what it can of the verifier's sentence on the proofs: reputation, bandwidth, commitment. */
    private void heard(String sentence) {
        serviceNote = Optional.of(sentence);
        Matcher m = REPUTATION.matcher(sentence);
        Double rep = null;
        while (m.find()) {
            rep = parse(m.group(1));
        }
        if (rep != null) {
            reputation = Optional.of(rep);
        }
        Matcher b = BANDWIDTH.matcher(sentence);
        if (b.find()) {
            bandwidth = Optional.of(new double[] {parseOrNaN(b.group(1)), parseOrNaN(b.group(2))});
        }
        Matcher c = COMMITTED.matcher(sentence);
        if (c.find()) {
            committedBytes = Optional.of(Long.parseLong(c.group(1)));
        }
    }

    private static Double parse(String s) {
        try {
            return Double.valueOf(s);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static double parseOrNaN(String s) {
        Double d = parse(s);
        return d == null ? Double.NaN : d;
    }

    @Override
    public void connected() {
        connects.incrementAndGet();
    }

    /** Counts the time since the last sample as connected or not, in the epoch it falls in. */
    synchronized void sample(Instant now, boolean connected) {
        long ms = Math.max(0, Duration.between(lastSample, now).toMillis());
        lastSample = now;
        Epoch e = epoch(now);
        replaceLast(new Epoch(
                e.start(),
                e.sampledMillis() + ms,
                e.connectedMillis() + (connected ? ms : 0),
                e.accepted(),
                e.rejected()));
    }

    /** The epoch {@code at} falls in, appended (and the oldest dropped) when it is a new one. */
    @GuardedBy("this")
    private Epoch epoch(Instant at) {
        long len = epochLength.toMillis();
        Instant start = Instant.ofEpochMilli(Math.floorDiv(at.toEpochMilli(), len) * len);
        Epoch e = epochs.peekLast();
        if (e == null || e.start().isBefore(start)) {
            e = new Epoch(start, 0, 0, 0, 0);
            epochs.addLast(e);
            while (epochs.size() > EPOCHS_KEPT) {
                epochs.removeFirst();
            }
        }
        return e;
    }

    @GuardedBy("this")
    private void replaceLast(Epoch e) {
        epochs.removeLast();
        epochs.addLast(e);
    }

    long reconnects() {
        return Math.max(0, connects.get() - 1);
    }

    long connects() {
        return connects.get();
    }

    synchronized List<ReportLine> reports() {
        return List.copyOf(reports);
    }

    synchronized Map<ReasonCode, Long> rejections() {
        return Map.copyOf(rejections);
    }

    synchronized List<Epoch> epochs() {
        return List.copyOf(epochs);
    }

    Optional<Snapshot> lastSnapshot() {
        return last;
    }

    /** Bytes a second received and sent between the last two rounds of measurements, when both have them. */
    Optional<double[]> trafficRates() {
        if (last.isEmpty() || previous.isEmpty()) {
            return Optional.empty();
        }
        Snapshot a = previous.get();
        Snapshot b = last.get();
        double secs = Duration.between(a.time(), b.time()).toMillis() / 1000.0;
        if (secs <= 0) {
            return Optional.empty();
        }
        Optional<Double> rx0 = a.value("net.rx");
        Optional<Double> rx1 = b.value("net.rx");
        Optional<Double> tx0 = a.value("net.tx");
        Optional<Double> tx1 = b.value("net.tx");
        if (rx0.isEmpty() || rx1.isEmpty() || tx0.isEmpty() || tx1.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new double[] {
            Math.max(0, (rx1.get() - rx0.get()) / secs), Math.max(0, (tx1.get() - tx0.get()) / secs)
        });
    }

    Optional<Double> reputation() {
        return reputation;
    }

    /** Down and up Mbit/s of the last counted bandwidth test, as the verifier said (NaN: not measured). */
    Optional<double[]> bandwidthTest() {
        return bandwidth;
    }

    Optional<Long> committedBytes() {
        return committedBytes;
    }

    Optional<String> serviceNote() {
        return serviceNote;
    }

    Optional<Instant> lastReceiptAt() {
        return lastReceiptAt;
    }

    /** A rejection reason in plain words, for people. */
    static String plainWords(ReasonCode code) {
        return switch (code) {
            case MALFORMED -> "the report was damaged or of an unknown format";
            case BAD_SIGNATURE -> "the report's signature did not check out";
            case UNKNOWN_DEVICE -> "the verifier does not know this device: register it with the fleet";
            case KEY_MISMATCH -> "the report was signed by a key other than the one registered for this device";
            case WRONG_FLEET -> "the report names another fleet than the verifier's";
            case REPLAY -> "a different report with the same sequence number was seen before";
            case CHAIN_BREAK -> "the report does not follow the previous one (chain broken)";
            case STALE -> "the board's clock is too far off the verifier's: fix the time (enable NTP)";
            case BAD_NONCE -> "the challenge it answered is unknown or expired";
            case IMPLAUSIBLE -> "a measurement was outside plausible bounds";
            case VERIFIER_ERROR -> "the verifier failed (not the board's fault); it will be sent again";
            case WRONG_TOPIC -> "the report arrived on another device's topic";
            case EMULATED -> "the verifier does not accept reports from emulated boards";
            case RATE_LIMITED -> "the verifier is busy with new devices; it will be sent again later";
        };
    }

    static String lower(ReasonCode code) {
        return code.code().toLowerCase(Locale.ROOT);
    }
}
