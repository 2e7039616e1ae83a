package dev.prospector.agent.verifier;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.common.Failure;
import dev.prospector.attest.Appraisal;
import dev.prospector.attest.AtomicFiles;
import dev.prospector.attest.Audit;
import dev.prospector.attest.BandwidthReceipt;
import dev.prospector.attest.BandwidthReceipt.Direction;
import dev.prospector.attest.Claims;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.Measurement;
import dev.prospector.attest.MeasurementClaim;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.ServiceEvidence;
import dev.prospector.attest.Sha256;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * The verifier's judge of proofs of service (issue 12; docs/REWARDS.md): storage audits and the
 * reputation they build, bandwidth receipts, uptime, and at each epoch's close a score and a reward
 * per device.
 *
 * <h2>Where it sits</h2>
 * {@link VerifierService} calls {@link #onAccepted} with every accepted report and its arrival on
 * the verifier's clock, and {@link #duties} when it puts a fresh challenge into a receipt: this
 * decides whether the challenge also asks for an audit or a bandwidth test, and remembers the audit
 * it asked. {@link #tick} (every few seconds on its own thread after {@link #start}, or by a test
 * with its own clock) decides audits nobody answered, closes epochs and saves the state.
 *
 * <h2>Design</h2>
 * <ul>
 *   <li>Every time is the verifier's clock: a deadline runs from issuing the receipt to the
 *       answer's arrival; uptime is credited between two arrivals, never from a board's {@code iat}.
 *       The board's own monotonic clock ({@code up}) can only lower a credit (a board that was down
 *       in between has a smaller {@code up} step, or a new boot or run), never raise it.
 *   <li>A proof problem never rejects a report (its chain still counts): it scores the device down,
 *       and the receipt's {@code pos} sentence says what was made of the evidence.
 *   <li>Audits come at a random moment of each {@code audit-every} period, so a board cannot
 *       regenerate its plot just before a known audit; the leaves follow from the nonce, so it
 *       cannot know them before.
 *   <li>One lock guards all devices: the work under it is a map lookup and, for an audit answer,
 *       at most a few hundred SHA-256 computations; epochs close under it too (once an epoch).
 *   <li>State ({@code pos.state}) is replaced atomically and checksummed, at every epoch close, at
 *       most every {@link #SAVE_EVERY_MS} ms when changed, and at {@link #close}. A damaged file
 *       stops the verifier with one line; rewards are guarded against double issue by
 *       {@link RewardIssuer}'s log, not by this file.
 * </ul>
 *
 * <h2>In a Kafka verifier ({@link #partitioned})</h2>
 * Devices come and go with the partitions a verifier holds, so their state lives in Kafka, not in
 * a file: {@link #takeChanged} gives the state of each device changed since it was last called, which
 * the verifier writes in the transaction of the reports that changed it; a verifier given a
 * partition {@link #restore}s its devices from there. A closed epoch's rewards are not issued here
 * but handed to {@link Dues}, which writes them in that same transaction; each device remembers the
 * last epoch closed for it ({@code closedThrough}), so the next holder of its partition neither
 * closes that epoch again nor credits it more uptime. Arrival times are then the reports' Kafka
 * timestamps (when the broker appended them), the same clock for every verifier of the group, and
 * its verifier ticks it as of the reports it has read ({@link #tick(long)}), not by its own clock.
 */
public final class ProofOfService implements AutoCloseable {
    public static final String STATE_FILE = "pos.state";
    public static final String REWARDS_LOG = "rewards.log";
    public static final String REWARD_KEY_DIR = "reward-key";
    static final long SAVE_EVERY_MS = 30_000;
    /** Three late answers in a row count as one failure. */
    static final int LATE_IS_FAILURE = 3;
    /** A contained audit is asked again only while its challenge has this much lifetime beyond its deadline. */
    static final long REASK_MARGIN_MS = 60_000;

    static final int TESTS_KEPT = 64;
    static final int COUNTED_NONCES_KEPT = 16;
    private static final int MAX_SENTENCE = 240;
    private static final byte[] MAGIC = "PXPOS001".getBytes(StandardCharsets.US_ASCII);
    private static final int MAX_STATE_BYTES = 512 << 20;

    /**
     * Where a Kafka verifier's closed epochs go: the rewards due for {@code epoch} (devices with a
     * reward) and every device scored, to be written in the transaction under way. Called under the
     * judge's lock from {@link #tick}.
     */
    @FunctionalInterface
    public interface Dues {
        void closed(long epoch, List<RewardIssuer.Due> due, Map<DeviceId, Scoring.EpochScore> scored);
    }

    /** What the receipt says of a report's proof-of-service: its {@code pos} and {@code dq}. */
    public record Verdict(Optional<String> service, Optional<String> disqualified) {}

    /** A device's current standing, for status pages, the demo and tests. */
    public record DeviceScore(
            String device,
            double uptimePct,
            long storageProvenBytes,
            OptionalDouble downMbps,
            OptionalDouble upMbps,
            OptionalDouble latencyMs,
            double reputation,
            Optional<String> disqualified,
            Map<AuditOutcome, Long> audits,
            int bandwidthSamples,
            double score,
            long rewardSoFar,
            Optional<Scoring.EpochScore> lastEpoch) {}

    private final ServiceSettings settings;
    private final Clock clock;
    private final Duration challengeTtl;
    private final Map<DeviceId, byte[]> trusted;
    /** The MQTT verifier's issuer; empty in a Kafka verifier's judge, which has {@link #dues}. */
    private final Optional<RewardIssuer> rewards;

    private final Optional<Dues> dues;
    private final Optional<Path> stateFile;
    private final SecureRandom random = new SecureRandom();
    private final Object lock = new Object();
    private ScheduledExecutorService ticker;

    @GuardedBy("lock")
    private final Map<DeviceId, DeviceService> devices = new HashMap<>();

    @GuardedBy("lock")
    private long lastClosed;

    @GuardedBy("lock")
    private long lastSaveMs;

    @GuardedBy("lock")
    private boolean dirty;

    /** Devices changed since {@link #takeChanged}; kept by a partitioned judge only. */
    @GuardedBy("lock")
    private final Set<DeviceId> changed = new LinkedHashSet<>();

    /**
     * Opens the judge, reading {@code stateFile} when it exists.
     *
     * @param challengeTtl how long a challenge may be answered (bandwidth receipts of older nonces do not count)
     * @param trustedEndpoints raw public keys of the measurement endpoints whose receipts count
     * @throws Failure (bad input) naming the state file when it is damaged
     */
    public static ProofOfService open(
            ServiceSettings settings,
            Clock clock,
            Duration challengeTtl,
            List<byte[]> trustedEndpoints,
            RewardIssuer rewards,
            Optional<Path> stateFile) {
        ProofOfService p = new ProofOfService(
                settings, clock, challengeTtl, trustedEndpoints, Optional.of(rewards), Optional.empty(), stateFile);
        synchronized (p.lock) {
            long fromState = Long.MIN_VALUE;
            if (stateFile.isPresent()) {
                fromState = p.load(stateFile.get());
            }
            long now = clock.millis();
            long fallback = p.epochOf(now) - 1;
            p.lastClosed = Math.max(fromState == Long.MIN_VALUE ? fallback : fromState, rewards.lastClosed());
            p.lastSaveMs = now;
        }
        return p;
    }

    /**
     * A Kafka verifier's judge (see the class comment): no state file and no issuer; its devices are
     * {@link #restore}d as partitions come, their changes taken with {@link #takeChanged}, and each
     * closed epoch handed to {@code dues}. No epoch is closed for it yet: each device restored says
     * for itself which it closed ({@code closedThrough}, which guards its credits and its dues), and
     * the first {@link #tick(long)} closes, as of what its verifier has read, whatever is due. So a
     * verifier that starts far behind its partitions still credits the uptime its unread reports
     * carry to the epochs they fall in.
     */
    public static ProofOfService partitioned(
            ServiceSettings settings, Clock clock, Duration challengeTtl, List<byte[]> trustedEndpoints, Dues dues) {
        ProofOfService p = new ProofOfService(
                settings, clock, challengeTtl, trustedEndpoints, Optional.empty(), Optional.of(dues), Optional.empty());
        synchronized (p.lock) {
            p.lastClosed = Long.MIN_VALUE;
            p.lastSaveMs = clock.millis();
        }
        return p;
    }

    private ProofOfService(
            ServiceSettings settings,
            Clock clock,
            Duration challengeTtl,
            List<byte[]> trustedEndpoints,
            Optional<RewardIssuer> rewards,
            Optional<Dues> dues,
            Optional<Path> stateFile) {
        this.settings = settings;
        this.clock = clock;
        this.challengeTtl = challengeTtl;
        Map<DeviceId, byte[]> t = new HashMap<>();
        for (byte[] k : trustedEndpoints) {
            t.put(DeviceId.of(k), k.clone());
        }
        this.trusted = Map.copyOf(t);
        this.rewards = rewards;
        this.dues = dues;
        this.stateFile = stateFile;
    }

    public ServiceSettings settings() {
        return settings;
    }

    /** The issuer of the rewards; empty in a Kafka verifier's judge ({@link #partitioned}). */
    public Optional<RewardIssuer> rewards() {
        return rewards;
    }

    /**
     * Takes in a device's state as {@link #takeChanged} gave it (a Kafka verifier given the device's
     * partition), replacing what this judge had of it; the epochs the device still has open are closed
     * by this judge, when due.
     *
     * @throws IllegalArgumentException when {@code state} does not decode
     */
    public void restore(DeviceId device, byte[] state) {
        DeviceService d;
        try {
            d = DeviceService.fromCbor(CBORObject.DecodeFromBytes(state));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(
                    "the proof-of-service state of " + device + " does not decode: " + e.getMessage(), e);
        }
        synchronized (lock) {
            devices.put(device, d);
            for (long e : d.uptimeMs.keySet()) {
                lastClosed = Math.min(lastClosed, e - 1); // open for it: the next tick closes it when due
                break;
            }
        }
    }

    /**
     * The devices changed since the last call, each with its whole state (for {@link #restore}), in
     * the order they first changed; empty for a judge that is not {@link #partitioned}.
     */
    public Map<DeviceId, byte[]> takeChanged() {
        synchronized (lock) {
            Map<DeviceId, byte[]> out = new java.util.LinkedHashMap<>();
            for (DeviceId id : changed) {
                DeviceService d = devices.get(id);
                if (d != null) {
                    out.put(id, d.toCbor().EncodeToBytes());
                }
            }
            changed.clear();
            return out;
        }
    }

    /** Whether a device changed since {@link #takeChanged} (a {@link #partitioned} judge's only). */
    public boolean hasChanged() {
        synchronized (lock) {
            return !changed.isEmpty();
        }
    }

    /** Devices this judge knows. */
    public int devices() {
        synchronized (lock) {
            return devices.size();
        }
    }

    @GuardedBy("lock")
    private void changed(DeviceId device) {
        dirty = true;
        if (dues.isPresent()) {
            changed.add(device);
        }
    }

    /** Ticks every few seconds on a thread of its own until {@link #close}. */
    public synchronized void start() {
        if (ticker == null) {
            ticker = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "proof-of-service");
                t.setDaemon(true);
                return t;
            });
            long every = Math.max(1000, Math.min(5000, settings.epoch().toMillis() / 10));
            ticker.scheduleWithFixedDelay(
                    () -> {
                        try {
                            tick();
                        } catch (Throwable e) { // an escaping Throwable would end the scheduled task for good
                            Logger.error(e, "proof of service: a periodic step failed (tried again at the next tick)");
                        }
                    },
                    every,
                    every,
                    TimeUnit.MILLISECONDS);
        }
    }

    long epochOf(long ms) {
        return Math.floorDiv(
                ms - settings.epochOrigin().toEpochMilli(), settings.epoch().toMillis());
    }

    private long epochStart(long epoch) {
        return settings.epochOrigin().toEpochMilli() + epoch * settings.epoch().toMillis();
    }

    // ------------------------------------------------------------------ reports

    /**
     * Takes in an accepted report that arrived at {@code arrivalMs} (verifier clock): its audit
     * answer, bandwidth receipts and uptime. A duplicate changes nothing.
     */
    public Verdict onAccepted(Appraisal.Accepted a, long arrivalMs) {
        synchronized (lock) {
            if (a.duplicate()) {
                DeviceService d = devices.get(a.device());
                return new Verdict(Optional.empty(), d == null ? Optional.empty() : disqualification(d));
            }
            Claims c = a.claims();
            DeviceService d = devices.computeIfAbsent(a.device(), k -> new DeviceService(firstKey(c)));
            List<String> said = new ArrayList<>();
            Optional<ServiceEvidence> ev = c.service();
            d.linkMbps = linkMbps(c);
            if (ev.isPresent()
                    && ev.get().plot().isPresent()
                    && !ev.get().plot().get().equals(d.commitment)) {
                d.commitment = ev.get().plot().get();
                d.successes.clear(); // audits of another commitment prove nothing of this one
                said.add("plot committed (" + d.commitment.bytes() + " bytes)");
            }
            audit(a.device(), d, c, ev, arrivalMs, said);
            bandwidth(a.device(), d, c, ev, arrivalMs, said);
            uptime(d, c, ev, arrivalMs);
            changed(a.device());
            String sentence = String.join("; ", said);
            if (sentence.length() > MAX_SENTENCE) {
                sentence = sentence.substring(0, MAX_SENTENCE - 1) + "…";
            }
            return new Verdict(sentence.isEmpty() ? Optional.empty() : Optional.of(sentence), disqualification(d));
        }
    }

    @GuardedBy("lock")
    private void audit(
            DeviceId device,
            DeviceService d,
            Claims c,
            Optional<ServiceEvidence> ev,
            long arrivalMs,
            List<String> said) {
        DeviceService.Pending p = d.pending;
        Optional<byte[]> nonce = c.nonce();
        boolean answersPending = p != null && nonce.isPresent() && Arrays.equals(nonce.get(), p.nonce());
        var answer = ev.flatMap(ServiceEvidence::audit);
        if (answersPending && answer.isPresent()) {
            d.pending = null;
            long took = arrivalMs - p.issuedMs();
            Audit.Check check = Audit.check(device, p.commitment(), p.nonce(), p.leaves(), answer.get());
            if (check instanceof Audit.Check.Passed) {
                if (took <= p.deadlineMs()) {
                    record(d, AuditOutcome.SUCCESS, "audit passed in " + took + " ms", arrivalMs, p, said);
                } else {
                    record(
                            d,
                            AuditOutcome.CONTAINED,
                            "audit passed but late (" + took + " ms, deadline " + p.deadlineMs() + " ms)",
                            arrivalMs,
                            p,
                            said);
                }
            } else if (check instanceof Audit.Check.Failed f) {
                record(d, AuditOutcome.FAILURE, "audit failed: " + f.why(), arrivalMs, p, said);
            } else if (check instanceof Audit.Check.BoardError e) {
                record(d, AuditOutcome.UNKNOWN, "audit not answered, board error: " + e.why(), arrivalMs, p, said);
            }
        } else if (p != null && arrivalMs > p.issuedMs() + p.deadlineMs()) {
            d.pending = null;
            if (answersPending) {
                record(
                        d,
                        AuditOutcome.FAILURE,
                        "audit failed: the audit's challenge was answered without its proof",
                        arrivalMs,
                        p,
                        said);
            } else if (nonce.isPresent() && issuedAt(nonce.get()) > p.issuedMs()) {
                // It carries a challenge of a receipt sent after the audit's: it was online, and did not answer.
                record(
                        d,
                        AuditOutcome.FAILURE,
                        "audit failed: not answered within " + p.deadlineMs()
                                + " ms, though the board answered a later challenge",
                        arrivalMs,
                        p,
                        said);
            } else {
                record(
                        d,
                        AuditOutcome.OFFLINE,
                        "audit offline: no answer within " + p.deadlineMs() + " ms",
                        arrivalMs,
                        p,
                        said);
            }
        } else if (answer.isPresent()) {
            said.add("audit answer ignored: no audit of this nonce is open");
        }
    }

    @GuardedBy("lock")
    private void record(
            DeviceService d,
            AuditOutcome outcome,
            String detail,
            long atMs,
            DeviceService.Pending p,
            List<String> said) {
        AuditOutcome counted = outcome;
        String text = detail;
        switch (outcome) {
            case SUCCESS -> {
                d.reputation = d.reputation.success();
                d.contained = false;
                d.lateInRow = 0;
                d.containedAudit = null;
                d.successes.addLast(new DeviceService.Success(p.commitment(), atMs));
                while (d.successes.size() > DeviceService.SUCCESSES_KEPT) {
                    d.successes.removeFirst();
                }
            }
            case CONTAINED -> {
                d.lateInRow++;
                if (d.lateInRow >= LATE_IS_FAILURE) {
                    counted = AuditOutcome.FAILURE;
                    text = detail + ", the " + LATE_IS_FAILURE + "rd late answer in a row: a failure";
                    failure(d);
                } else {
                    d.contained = true;
                    d.containedAudit = p; // asked again, same nonce, until it lapses
                    d.containedLateCounted = false;
                    text = detail + ": contained, audited again (the same audit)";
                }
            }
            case FAILURE -> failure(d);
            case OFFLINE, UNKNOWN -> {
                // The reputation follows the answers a board gives, but no storage is credited to a board
                // that dodges an audit, and a contained board cannot dodge its audit: that counts as late.
                d.successes.clear();
                if (d.contained) {
                    d.lateInRow++;
                    d.containedLateCounted = true;
                    if (d.lateInRow >= LATE_IS_FAILURE) {
                        counted = AuditOutcome.FAILURE;
                        text = detail + ", a contained audit unanswered, the " + LATE_IS_FAILURE
                                + "rd late answer in a row: a failure";
                        failure(d);
                    } else {
                        text = detail + ", a contained audit unanswered: counted late (" + d.lateInRow + " of "
                                + LATE_IS_FAILURE + ")";
                    }
                }
            }
        }
        d.audits[counted.ordinal()]++;
        said.add(String.format(Locale.ROOT, "%s; reputation %.3f", text, d.reputation.value()));
    }

    private static void failure(DeviceService d) {
        d.reputation = d.reputation.failure();
        d.contained = false;
        d.lateInRow = 0;
        d.successes.clear();
        d.containedAudit = null;
        d.containedLateCounted = false;
    }

    @GuardedBy("lock")
    private void bandwidth(
            DeviceId device,
            DeviceService d,
            Claims c,
            Optional<ServiceEvidence> ev,
            long arrivalMs,
            List<String> said) {
        List<byte[]> receipts = ev.map(ServiceEvidence::bandwidth).orElse(List.of());
        if (receipts.isEmpty()) {
            return;
        }
        Optional<byte[]> nonce = c.nonce();
        String whole = null;
        if (nonce.isEmpty()) {
            whole = "the report answers no challenge";
        } else if (d.bandwidthNonce == null || !Arrays.equals(d.bandwidthNonce, nonce.get())) {
            whole = "no bandwidth test was asked with this report's challenge";
        } else if (issuedAt(nonce.get()) < arrivalMs - challengeTtl.toMillis()) {
            whole = "the test's challenge is older than " + challengeTtl.toMinutes() + " min";
        } else if (d.countedNonces.stream().anyMatch(n -> Arrays.equals(n, nonce.get()))) {
            whole = "this test was counted before";
        }
        if (whole != null) {
            said.add("bandwidth: " + receipts.size() + " receipt(s) not counted: " + whole);
            return;
        }
        Map<Direction, List<Double>> figures = new EnumMap<>(Direction.class);
        Set<String> refused = new LinkedHashSet<>();
        int refusedCount = 0;
        Set<String> seen = new java.util.HashSet<>();
        for (byte[] signed : receipts) {
            String why = null;
            BandwidthReceipt.Opened o = null;
            try {
                o = BandwidthReceipt.open(signed);
            } catch (MalformedReportException e) {
                why = "malformed (" + e.getMessage() + ")";
            }
            if (o != null) {
                byte[] key = trusted.get(o.endpoint());
                BandwidthReceipt r = o.receipt();
                if (key == null) {
                    why = "endpoint " + o.endpoint() + " is not trusted";
                } else if (!o.signedBy(key)) {
                    why = "not signed by endpoint " + o.endpoint();
                } else if (!r.device().equals(device)) {
                    why = "made for another device";
                } else if (!Arrays.equals(r.nonce(), nonce.get())) {
                    why = "made for another challenge";
                } else if (!seen.add(o.endpoint().value() + "/" + r.direction())) {
                    why = "a second receipt of one endpoint and direction";
                } else {
                    double value =
                            r.direction() == Direction.RTT ? r.duration().toNanos() / 1e6 : Math.min(r.mbps(), cap(d));
                    figures.computeIfAbsent(r.direction(), k -> new ArrayList<>())
                            .add(value);
                }
            }
            if (why != null) {
                refusedCount++;
                refused.add(why);
            }
        }
        Scoring.Test test = new Scoring.Test(
                arrivalMs,
                Scoring.median(figures.getOrDefault(Direction.DOWN, List.of())).orElse(Double.NaN),
                Scoring.median(figures.getOrDefault(Direction.UP, List.of())).orElse(Double.NaN),
                Scoring.median(figures.getOrDefault(Direction.RTT, List.of())).orElse(Double.NaN));
        StringBuilder s = new StringBuilder("bandwidth: ");
        if (test.counts() || !Double.isNaN(test.rttMillis())) {
            d.tests.add(test);
            while (d.tests.size() > TESTS_KEPT) {
                d.tests.remove(0);
            }
            d.countedNonces.addLast(nonce.get());
            while (d.countedNonces.size() > COUNTED_NONCES_KEPT) {
                d.countedNonces.removeFirst();
            }
            s.append(String.format(
                    Locale.ROOT,
                    "test counted from %d receipt(s): down %s, up %s Mbit/s, rtt %s ms",
                    receipts.size() - refusedCount,
                    figure(test.downMbps()),
                    figure(test.upMbps()),
                    figure(test.rttMillis())));
        } else {
            s.append("no receipt counted");
        }
        if (refusedCount > 0) {
            s.append("; ").append(refusedCount).append(" refused: ").append(String.join(", ", refused));
        }
        said.add(s.toString());
    }

    private static String figure(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f", v);
    }

    private static double cap(DeviceService d) {
        return Double.isNaN(d.linkMbps) ? Scoring.MAX_MBPS : Math.min(Scoring.MAX_MBPS, d.linkMbps);
    }

    @GuardedBy("lock")
    private void uptime(DeviceService d, Claims c, Optional<ServiceEvidence> ev, long arrivalMs) {
        long run =
                ev.map(ServiceEvidence::runStart).orElse(OptionalLong.empty()).orElse(-1);
        long up = c.uptime().toMillis();
        DeviceService.LastReport last = d.last;
        DeviceService.LastReport now = new DeviceService.LastReport(c.bootId(), run, up, arrivalMs);
        if (last == null) {
            d.last = now;
            return;
        }
        if (arrivalMs < last.arrivalMs()) {
            return; // appraised out of order: the later report is the reference
        }
        long gap = settings.uptimeMaxGap().toMillis();
        long byVerifier = arrivalMs - last.arrivalMs();
        long byBoard = up - last.upMs();
        boolean fresh = c.nonce().isPresent() && issuedAt(c.nonce().get()) >= last.arrivalMs() - gap;
        if (last.boot().equals(c.bootId())
                && last.run() == run
                && byVerifier > 0
                && byVerifier <= gap
                && byBoard > 0
                && fresh) {
            credit(d, last.arrivalMs(), arrivalMs, Math.min(byVerifier, byBoard));
        }
        d.last = now;
    }

    /** Spreads {@code amount} ms of uptime over the epochs of [from, to), pro rata. */
    @GuardedBy("lock")
    private void credit(DeviceService d, long from, long to, long amount) {
        long span = to - from;
        for (long e = epochOf(from); e <= epochOf(to - 1); e++) {
            long lo = Math.max(from, epochStart(e));
            long hi = Math.min(to, epochStart(e + 1));
            if (hi > lo && e > lastClosed && e > d.closedThrough) {
                d.uptimeMs.merge(e, (double) amount * (hi - lo) / span, Double::sum);
            }
        }
    }

    /** The issue time of a Prospector challenge: its first 8 bytes, ms big-endian. */
    static long issuedAt(byte[] nonce) {
        return nonce.length >= Long.BYTES ? ByteBuffer.wrap(nonce).getLong() : Long.MIN_VALUE;
    }

    private static byte[] firstKey(Claims c) {
        return c.rotations().isEmpty() ? c.key() : c.rotations().get(0).oldKey();
    }

    private static double linkMbps(Claims c) {
        for (Measurement m : c.measurements()) {
            if (m instanceof MeasurementClaim v && v.name().equals("net.link_speed") && v.value() > 0) {
                return v.unit().equals("B/s") ? v.value() * 8 / 1e6 : v.value() / 1e6;
            }
        }
        return Double.NaN;
    }

    private static Optional<String> disqualification(DeviceService d) {
        if (!d.reputation.disqualified()) {
            return Optional.empty();
        }
        return Optional.of(String.format(
                Locale.ROOT,
                "disqualified for rewards: audit reputation %.3f below %.2f after %d failed audit(s)",
                d.reputation.value(),
                Reputation.THRESHOLD,
                d.failures()));
    }

    /** Why {@code device} is disqualified for rewards, if it is. */
    public Optional<String> disqualified(DeviceId device) {
        synchronized (lock) {
            DeviceService d = devices.get(device);
            return d == null ? Optional.empty() : disqualification(d);
        }
    }

    // ------------------------------------------------------------------ duties

    /**
     * The challenge {@code c} for {@code device}, with what it should also ask: an audit when one
     * is due (at once for a contained device) and the device committed a plot, else a bandwidth
     * test when one is due and an endpoint is trusted. Never both: a board answers an audit at
     * once, a test after it ran. Remembers the audit asked.
     */
    public Receipt.Challenge duties(DeviceId device, Receipt.Challenge c) {
        long now = clock.millis();
        synchronized (lock) {
            DeviceService d = devices.get(device);
            if (d == null) {
                return c;
            }
            if (d.pending != null && now > d.pending.issuedMs() + d.pending.deadlineMs()) {
                return c; // decided by the next report or tick; not a second audit meanwhile
            }
            if (d.commitment != null && d.pending == null && (d.contained || now >= d.nextAuditMs)) {
                long deadline = settings.auditDeadline().toMillis();
                DeviceService.Pending again = d.containedAudit;
                if (d.contained && again != null) {
                    long expires = issuedAt(again.nonce()) + challengeTtl.toMillis();
                    if (again.commitment().equals(d.commitment) && expires - now >= deadline + REASK_MARGIN_MS) {
                        // Storj's containment: the same audit (nonce, so leaves, and commitment), a new deadline.
                        d.pending = new DeviceService.Pending(
                                again.nonce(), again.commitment(), again.leaves(), now, deadline);
                        d.containedLateCounted = false;
                        changed(device);
                        return new Receipt.Challenge(again.nonce(), Duration.ofSeconds((expires - now) / 1000))
                                .withAudit(again.leaves(), Duration.ofMillis(deadline));
                    }
                    if (!d.containedLateCounted) {
                        record(
                                d,
                                AuditOutcome.CONTAINED,
                                "the contained audit lapsed unanswered",
                                now,
                                again,
                                new ArrayList<>());
                    }
                }
                d.pending = new DeviceService.Pending(c.nonce(), d.commitment, settings.auditLeaves(), now, deadline);
                if (d.contained) {
                    d.containedAudit = d.pending;
                    d.containedLateCounted = false;
                }
                long every = settings.auditEvery().toMillis();
                long nextPeriod = (Math.floorDiv(now, every) + 1) * every;
                d.nextAuditMs = nextPeriod + (long) (random.nextDouble() * every * 0.8);
                changed(device);
                return c.withAudit(settings.auditLeaves(), Duration.ofMillis(deadline));
            }
            if (d.pending == null && !trusted.isEmpty() && bandwidthDue(d, now)) {
                d.bandwidthAskedMs = now;
                d.bandwidthNonce = c.nonce();
                changed(device);
                return c.withBandwidthTest();
            }
            return c;
        }
    }

    /**
     * Whether to ask {@code d} a bandwidth test now: none asked yet, {@code bandwidth-every} since the
     * last, or the last produced no counted test within the challenge's lifetime (asked again at
     * once, so one missed test does not empty the window).
     */
    @GuardedBy("lock")
    private boolean bandwidthDue(DeviceService d, long now) {
        if (d.bandwidthAskedMs < 0
                || now >= d.bandwidthAskedMs + settings.bandwidthEvery().toMillis()) {
            return true;
        }
        byte[] asked = d.bandwidthNonce;
        boolean counted = asked != null && d.countedNonces.stream().anyMatch(n -> Arrays.equals(n, asked));
        return !counted && now > d.bandwidthAskedMs + challengeTtl.toMillis();
    }

    /** How far back bandwidth tests count for a score: two asks and a challenge's lifetime, at least an epoch. */
    private long bandwidthWindow() {
        return Math.max(
                settings.epoch().toMillis(), 2 * settings.bandwidthEvery().toMillis() + challengeTtl.toMillis());
    }

    // ------------------------------------------------------------------ epochs

    /** Decides audits that can no longer be answered, closes the epochs that are over, saves when due. */
    public void tick() {
        tick(Long.MAX_VALUE);
    }

    /**
     * As {@link #tick()}, as of {@code readThroughMs} when that is earlier than the clock: a Kafka
     * verifier behind its partitions has not read the reports that arrived after that time yet, and
     * they may still answer an audit or credit uptime to an epoch. So an audit is given up as
     * offline, and an epoch closed, only once what was read reaches past its deadline or its end
     * and {@code uptime-max-gap}; the reports still to read are judged by their arrival times.
     */
    public void tick(long readThroughMs) {
        long wall = clock.millis();
        long now = Math.max(0, Math.min(wall, readThroughMs)); // never before 1970: no overflow below
        synchronized (lock) {
            long unanswerable = Math.max(settings.auditDeadline().toMillis(), challengeTtl.toMillis());
            for (var entry : devices.entrySet()) {
                DeviceService d = entry.getValue();
                DeviceService.Pending p = d.pending;
                if (p != null && now > p.issuedMs() + unanswerable) {
                    d.pending = null;
                    record(d, AuditOutcome.OFFLINE, "audit offline", now, p, new ArrayList<>());
                    changed(entry.getKey());
                }
            }
            // Epoch e closes once its end lies uptime-max-gap behind: credits for it may still arrive until then.
            long closable = epochOf(now - settings.uptimeMaxGap().toMillis()) - 1;
            while (lastClosed < closable) {
                long next = Long.MAX_VALUE;
                for (DeviceService d : devices.values()) {
                    for (long e : d.uptimeMs.keySet()) {
                        if (e > lastClosed) {
                            next = Math.min(next, e);
                            break;
                        }
                    }
                }
                if (next > closable) {
                    lastClosed = closable; // nothing to score in between
                    dirty = true;
                    break;
                }
                closeEpoch(next);
            }
            if (dirty && wall - lastSaveMs >= SAVE_EVERY_MS) {
                save(wall);
            }
        }
    }

    @GuardedBy("lock")
    private void closeEpoch(long epoch) {
        long end = epochStart(epoch + 1);
        long length = settings.epoch().toMillis();
        long window = bandwidthWindow();
        List<RewardIssuer.Due> due = new ArrayList<>();
        Map<DeviceId, Scoring.EpochScore> scored = new HashMap<>();
        for (var entry : devices.entrySet()) {
            DeviceService d = entry.getValue();
            Double up = d.uptimeMs.get(epoch); // removed once the rewards are issued: a failed issue is tried again
            if (up == null) {
                continue;
            }
            List<Scoring.Test> tests = d.tests.stream()
                    .filter(t -> t.atMillis() > end - window && t.atMillis() <= end)
                    .toList();
            Scoring.EpochScore s = Scoring.score(
                    epoch,
                    up / length,
                    proven(d, end),
                    settings.storageTarget(),
                    tests,
                    d.reputation.value(),
                    disqualification(d),
                    settings.rewardPerEpoch());
            scored.put(entry.getKey(), s);
            if (s.reward() > 0) {
                due.add(new RewardIssuer.Due(entry.getKey(), d.firstKey, s.reward()));
            }
        }
        // The MQTT verifier's issuer knows the last epoch it issued (its log); a Kafka verifier's devices
        // each know theirs (closedThrough), and a device scored here has this epoch's uptime, so it is open.
        if (!scored.isEmpty() && (rewards.isEmpty() || epoch > rewards.get().lastClosed())) {
            if (rewards.isPresent()) {
                rewards.get().issue(epoch, due);
            } else {
                dues.orElseThrow().closed(epoch, List.copyOf(due), Map.copyOf(scored));
            }
            for (var e : scored.entrySet()) {
                DeviceService d = devices.get(e.getKey());
                d.rewardSoFar += e.getValue().reward();
                d.lastScore = e.getValue();
                d.closedThrough = Math.max(d.closedThrough, epoch);
                changed(e.getKey());
            }
            Logger.info(
                    "epoch {} closed: {} device(s) scored, {} reward(s) {}",
                    epoch,
                    scored.size(),
                    due.size(),
                    rewards.isPresent() ? "issued" : "due");
        }
        for (DeviceService d : devices.values()) {
            d.uptimeMs.keySet().removeIf(e -> e <= epoch);
        }
        lastClosed = epoch;
        dirty = true;
        if (!scored.isEmpty()) {
            save(clock.millis());
        }
    }

    /**
     * Plot bytes proven at {@code end}: the current commitment's, when an audit of exactly that
     * commitment (parameters and root, not the root alone) passed in {@code (end - 2 * audit-every, end]}.
     */
    @GuardedBy("lock")
    private long proven(DeviceService d, long end) {
        if (d.commitment == null) {
            return 0;
        }
        long from = end - 2 * settings.auditEvery().toMillis();
        for (DeviceService.Success x : d.successes) {
            if (x.commitment().equals(d.commitment) && x.atMs() > from && x.atMs() <= end) {
                return d.commitment.bytes();
            }
        }
        return 0;
    }

    /** Every device's current standing; the open epoch is scored as if it closed now. */
    public Map<String, DeviceScore> scores() {
        long now = clock.millis();
        synchronized (lock) {
            Map<String, DeviceScore> out = new HashMap<>();
            long epoch = epochOf(now);
            long elapsed = Math.max(1, now - epochStart(epoch));
            long window = bandwidthWindow();
            for (var e : devices.entrySet()) {
                DeviceService d = e.getValue();
                List<Scoring.Test> tests = d.tests.stream()
                        .filter(t -> t.atMillis() > now - window)
                        .toList();
                Scoring.EpochScore live = Scoring.score(
                        epoch,
                        d.uptimeMs.getOrDefault(epoch, 0.0) / elapsed,
                        proven(d, now),
                        settings.storageTarget(),
                        tests,
                        d.reputation.value(),
                        disqualification(d),
                        settings.rewardPerEpoch());
                Map<AuditOutcome, Long> audits = new EnumMap<>(AuditOutcome.class);
                for (AuditOutcome o : AuditOutcome.values()) {
                    audits.put(o, d.audits[o.ordinal()]);
                }
                out.put(
                        e.getKey().value(),
                        new DeviceScore(
                                e.getKey().value(),
                                live.uptimePct(),
                                live.storageProvenBytes(),
                                live.downMbps(),
                                live.upMbps(),
                                live.latencyMs(),
                                d.reputation.value(),
                                disqualification(d),
                                Map.copyOf(audits),
                                live.samples(),
                                live.score(),
                                d.rewardSoFar,
                                Optional.ofNullable(d.lastScore)));
            }
            return Map.copyOf(out);
        }
    }

    // ------------------------------------------------------------------ state file

    /** Saves now (at shutdown; tests). */
    public void save() {
        synchronized (lock) {
            save(clock.millis());
        }
    }

    @GuardedBy("lock")
    private void save(long now) {
        lastSaveMs = now;
        if (stateFile.isEmpty()) {
            dirty = false;
            return;
        }
        CBORObject root = CBORObject.NewOrderedMap();
        root.Add("v", 1);
        root.Add("closed", lastClosed);
        CBORObject list = CBORObject.NewArray();
        devices.forEach(
                (id, d) -> list.Add(CBORObject.NewArray().Add(id.value()).Add(d.toCbor())));
        root.Add("devices", list);
        byte[] body = root.EncodeToBytes();
        ByteBuffer b = ByteBuffer.allocate(MAGIC.length + 4 + body.length + 32);
        b.put(MAGIC).putInt(body.length).put(body).put(Sha256.of(body));
        try {
            AtomicFiles.write(stateFile.get(), b.array(), AtomicFiles.OWNER_ONLY);
            dirty = false;
        } catch (IOException e) {
            Logger.warn("cannot save {}: {} (tried again later)", stateFile.get(), e.getMessage());
        }
    }

    /** Reads the state file; its last closed epoch, or {@link Long#MIN_VALUE} if there is none. */
    @GuardedBy("lock")
    private long load(Path file) {
        byte[] all;
        try {
            if (Files.size(file) > MAX_STATE_BYTES) {
                throw damaged(file, "larger than " + (MAX_STATE_BYTES >> 20) + " MiB");
            }
            all = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return Long.MIN_VALUE;
        } catch (IOException e) {
            throw new Failure("cannot read " + file + ": " + e.getMessage(), Failure.Kind.UNAVAILABLE, e);
        }
        if (all.length < MAGIC.length + 4 + 32 || !Arrays.equals(Arrays.copyOf(all, MAGIC.length), MAGIC)) {
            throw damaged(file, "not a proof-of-service state file");
        }
        ByteBuffer b = ByteBuffer.wrap(all);
        b.position(MAGIC.length);
        int length = b.getInt();
        if (length < 0 || length != all.length - MAGIC.length - 4 - 32) {
            throw damaged(file, "its length does not match");
        }
        byte[] body = Arrays.copyOfRange(all, MAGIC.length + 4, MAGIC.length + 4 + length);
        byte[] sum = Arrays.copyOfRange(all, all.length - 32, all.length);
        if (!MessageDigest.isEqual(sum, Sha256.of(body))) {
            throw damaged(file, "its checksum does not match");
        }
        try {
            CBORObject root = CBORObject.DecodeFromBytes(body);
            if (root.get("v").AsInt32Value() != 1) {
                throw damaged(file, "unknown version");
            }
            for (CBORObject pair : root.get("devices").getValues()) {
                String id = pair.get(0).AsString();
                if (!DeviceId.isValid(id)) {
                    throw damaged(file, "a device id is not valid");
                }
                devices.put(new DeviceId(id), DeviceService.fromCbor(pair.get(1)));
            }
            return root.get("closed").AsInt64Value();
        } catch (Failure f) {
            throw f;
        } catch (RuntimeException e) {
            throw damaged(file, "its contents do not decode (" + e.getMessage() + ")");
        }
    }

    private static Failure damaged(Path file, String why) {
        return new Failure(
                "proof-of-service state " + file + " is damaged (" + why + "): move it aside (mv " + file + " "
                        + file
                        + ".bad) to start again; reputations, audits and open epochs then start fresh, issued rewards stay"
                        + " in " + REWARDS_LOG);
    }

    /** Stops the ticker and saves. */
    @Override
    public void close() {
        synchronized (this) {
            if (ticker != null) {
                ticker.shutdownNow();
                ticker = null;
            }
        }
        save();
    }
}
