package dev.prospector.attest;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * Appraises reports for the verifier: decides, for each report, {@code accepted} or
 * {@code rejected} with a {@link ReasonCode} and a sentence. One instance per verifier process.
 *
 * <h2>Invariants</h2>
 * <ul>
 *   <li>A report is accepted only if it decodes as a deterministic report, its signature verifies
 *       with the key the verifier holds for the device (or, on first sight, the key whose hash is
 *       the device id, possibly through key rotation statements), and it fits the device's chain.
 *   <li>Per device and chain, a seq is accepted for exactly one report (by SHA-256 of its bytes).
 *       The same bytes again are acknowledged as a {@code duplicate} and must be counted once by the
 *       caller; different bytes with a used seq are a {@code replay}.
 *   <li>A report that directly follows the last accepted one ({@code seq = last + 1}) must carry
 *       {@code prev = SHA-256(last report)}; a report that fills a hole inside the remembered window
 *       must match both neighbours it has. A jump forward is accepted with its {@code gap} recorded:
 *       the skipped reports may arrive later (QoS 1 may reorder) and then fill the hole.
 *   <li>A chain the verifier has not seen for a known device is a restart (the device lost its
 *       state): accepted, recorded ({@code chainRestart}), and the old chain is closed; reports of
 *       a closed chain are replays. A device is never rejected forever because it restarted.
 *   <li>After a key rotation is accepted, the device's pinned key is the new one; reports signed by
 *       an older key are {@code key-mismatch}.
 *   <li>Given the device of the topic a report arrived on ({@link #appraise(byte[], DeviceId)}),
 *       a report of another device is {@code wrong-topic} before any check that could change state:
 *       a genuine report shown first under a foreign topic neither pins a key nor moves a chain,
 *       so its copy on its own topic is accepted (and counted) once.
 *   <li>The devices with chain state are bounded: {@link AppraiserConfig#maxDevices()} in all,
 *       and without a registry at most {@link AppraiserConfig#newDevicesPerMinute()} new ones a
 *       minute (a token bucket, {@code NewDeviceGate}). A genuine first report beyond either is
 *       {@code rate-limited}: nothing about the device is recorded or pinned, and the device sends
 *       the report again later. Only first sight is gated, after every other check, so refused
 *       junk costs no admission and known devices are never slowed.
 * </ul>
 *
 * <h2>Cost</h2>
 * The only expensive step is one Ed25519 verification (plus one per new rotation statement). The
 * report is decoded once; nothing is re-encoded; the one extra hash is SHA-256 of the report bytes,
 * which the chain needs anyway. The pinned key's decoded point is cached per device, so a verify
 * does not decompress the key. An exact duplicate is recognised by its hash before any signature
 * work. Checked by {@code prospector bench crypto}: appraisals/s against raw verifications/s.
 *
 * <h2>Concurrency</h2>
 * Thread-safe and lock-free across devices: per-device state lives in a {@link ConcurrentHashMap}
 * and each {@code DeviceRecord} is guarded by its own monitor, held only for the few comparisons
 * of the chain check and never during signature verification. A device's pinned key is an
 * immutable {@code PinnedKey} in a volatile field. Two threads appraising the same bytes at once
 * yield one acceptance and one duplicate.
 *
 * <h2>Memory</h2>
 * Per device: the pinned key, the chain id, the last {@link Limits#DUPLICATE_WINDOW} (seq, hash,
 * prev) entries and the ids of the last {@link #CLOSED_CHAINS_KEPT} closed chains, about 2.5 KiB;
 * at most {@link AppraiserConfig#maxDevices()} devices.
 * Chain state is in memory: a restarted verifier starts each device's chain view from the first
 * report it sees. Pinned keys survive a restart when a {@link KeyPinStore} is configured (a
 * rotation is fsynced before the report that carries it is accepted); without one, a restarted
 * verifier pins each device's key again on first sight, and a rotated-away key would be trusted.
 */
public final class Appraiser {
    /** Closed chain ids remembered per device: {@link Limits#CLOSED_CHAINS_KEPT}. */
    public static final int CLOSED_CHAINS_KEPT = Limits.CLOSED_CHAINS_KEPT;

    private final AppraiserConfig config;
    private final ConcurrentHashMap<DeviceId, DeviceRecord> devices = new ConcurrentHashMap<>();
    private final LongAdder acceptedCount = new LongAdder();
    private final LongAdder duplicateCount = new LongAdder();
    private final LongAdder restartCount = new LongAdder();
    private final LongAdder gapTotal = new LongAdder();
    private final Map<ReasonCode, LongAdder> rejectedCount = new EnumMap<>(ReasonCode.class);
    private final NewDeviceGate newDevices;

    public Appraiser(AppraiserConfig config) {
        this.config = config;
        this.newDevices =
                new NewDeviceGate(config.newDevicesPerMinute(), config.clock().millis());
        for (var r : ReasonCode.values()) {
            rejectedCount.put(r, new LongAdder());
        }
    }

    /** Counters since start: accepted (without duplicates), duplicates, restarts, total gap, rejections by reason. */
    public record Stats(
            long accepted, long duplicates, long chainRestarts, long gapTotal, Map<ReasonCode, Long> rejected) {}

    public Stats stats() {
        var rej = new EnumMap<ReasonCode, Long>(ReasonCode.class);
        rejectedCount.forEach((k, v) -> rej.put(k, v.sum()));
        return new Stats(acceptedCount.sum(), duplicateCount.sum(), restartCount.sum(), gapTotal.sum(), rej);
    }

    public AppraiserConfig config() {
        return config;
    }

    /** The key the verifier currently holds for {@code device}, if it has seen it. */
    public Optional<byte[]> pinnedKey(DeviceId device) {
        var rec = devices.get(device);
        return rec == null || rec.key == null ? Optional.empty() : Optional.of(rec.key.key.clone());
    }

    /** True if the appraiser holds chain state for {@code device} (it accepted a report of it). */
    public boolean tracks(DeviceId device) {
        return devices.containsKey(device);
    }

    /** Devices with chain state, at most {@link AppraiserConfig#maxDevices()}. */
    public int trackedDevices() {
        return devices.size();
    }

    /** Appraises one report from anywhere (no topic to match). Never throws for any input bytes. */
    public Appraisal appraise(byte[] reportBytes) {
        return appraise(reportBytes, null);
    }

    /**
     * Appraises one report that arrived on the topic of {@code topicDevice}: a report of another
     * device is {@code wrong-topic}, decided before anything else can change. Never throws for any
     * input bytes.
     *
     * @param topicDevice the device the report's topic names, or null when it came with no topic
     */
    public Appraisal appraise(byte[] reportBytes, DeviceId topicDevice) {
        Appraisal a;
        try {
            a = appraiseUnchecked(reportBytes, topicDevice);
        } catch (RuntimeException | StackOverflowError e) {
            // Defence in depth: every path above is written to return a typed outcome.
            a = new Appraisal.Rejected(
                    ReasonCode.VERIFIER_ERROR,
                    "the verifier failed (" + e.getClass().getSimpleName()
                            + (e.getMessage() == null ? "" : ": " + e.getMessage()) + "); send the report again",
                    Optional.empty(),
                    OptionalLong.empty());
        }
        if (a instanceof Appraisal.Accepted acc) {
            if (acc.duplicate()) {
                duplicateCount.increment();
            } else {
                acceptedCount.increment();
                if (acc.gap() != 0) {
                    gapTotal.add(acc.gap());
                }
                if (acc.chainRestart()) {
                    restartCount.increment();
                }
            }
        } else if (a instanceof Appraisal.Rejected rej) {
            rejectedCount.get(rej.reason()).increment();
        }
        return a;
    }

    private Appraisal appraiseUnchecked(byte[] bytes, DeviceId topicDevice) {
        if (bytes.length > Limits.MAX_REPORT_BYTES) {
            return new Appraisal.Rejected(
                    ReasonCode.MALFORMED,
                    "report of " + bytes.length + " bytes exceeds the limit of " + Limits.MAX_REPORT_BYTES,
                    Optional.empty(),
                    OptionalLong.empty());
        }
        Report report;
        try {
            report = Report.decode(bytes);
        } catch (MalformedReportException e) {
            return new Appraisal.Rejected(ReasonCode.MALFORMED, e.getMessage(), Optional.empty(), OptionalLong.empty());
        }
        var claims = report.claims();
        var device = claims.device();
        long seq = claims.seq();
        var reject = new Rejecter(device, seq);

        if (topicDevice != null && !topicDevice.equals(device)) {
            return reject.with(
                    ReasonCode.WRONG_TOPIC,
                    "report of device " + device + " arrived on the topic of device " + topicDevice
                            + "; a device's reports belong under its own topic");
        }
        if (config.registry().isPresent() && !config.registry().get().allows(device)) {
            return reject.with(
                    ReasonCode.UNKNOWN_DEVICE, "device " + device + " is not in the verifier's device registry");
        }
        if (config.expectedFleet().isPresent() && !config.expectedFleet().get().equals(claims.fleet())) {
            return reject.with(
                    ReasonCode.WRONG_FLEET,
                    "report is for fleet '" + claims.fleet() + "', this verifier serves '"
                            + config.expectedFleet().get() + "'");
        }
        if (claims.emulated() && !config.allowEmulated()) {
            return reject.with(
                    ReasonCode.EMULATED,
                    "report says it was made on an emulated board (claim emulated); this verifier "
                            + "accepts only real boards' evidence (tests and demos start it with --allow-emulated)");
        }
        byte[] hash = Sha256.of(bytes);
        var known = devices.get(device); // records are created only for genuine reports

        // An exact copy of an accepted report: acknowledge again without any signature work.
        if (known != null) {
            synchronized (known) {
                if (known.isDuplicate(claims.chain(), seq, hash)) {
                    return new Appraisal.Accepted(device, seq, claims, true, 0, false, hash);
                }
            }
        }

        // Signature, against the pinned key or through rotation statements from it.
        PinnedKey pinned = known != null ? known.key : storedPin(device);
        PinnedKey signer;
        if (pinned != null && Arrays.equals(pinned.key, claims.key())) {
            if (!report.verify(pinned.point)) {
                return reject.with(ReasonCode.BAD_SIGNATURE, "signature does not verify with the device's key");
            }
            signer = pinned;
        } else {
            var rotations = claims.rotations();
            int from;
            if (pinned == null) {
                from = 0; // first sight: the device id (hash of the first key) binds the chain of keys
            } else {
                from = -1;
                for (int i = 0; i < rotations.size(); i++) {
                    if (Arrays.equals(rotations.get(i).oldKey(), pinned.key)) {
                        from = i;
                        break;
                    }
                }
                if (from < 0) {
                    return reject.with(
                            ReasonCode.KEY_MISMATCH,
                            "signed by key " + Hex.encode(claims.key()).substring(0, 16)
                                    + "... but the verifier holds key "
                                    + Hex.encode(pinned.key).substring(0, 16)
                                    + "... for this device and no key rotation links them");
                }
            }
            for (int i = from; i < rotations.size(); i++) {
                if (!rotations.get(i).verifySignature()) {
                    return reject.with(
                            ReasonCode.BAD_SIGNATURE,
                            "key rotation " + rotations.get(i).number() + " is not signed by the key it rotates from");
                }
            }
            signer = PinnedKey.of(claims.key());
            if (signer == null) {
                return reject.with(ReasonCode.BAD_SIGNATURE, "the report's key is not a valid Ed25519 public key");
            }
            if (!report.verify(signer.point)) {
                return reject.with(ReasonCode.BAD_SIGNATURE, "signature does not verify with the report's key");
            }
        }

        // Content checks: pure, before taking the device's lock.
        // In milliseconds: Duration arithmetic (negated() goes through BigDecimal) costs more than it should here.
        long skewMillis = claims.iat().toEpochMilli() - config.clock().millis();
        if (skewMillis > config.clockSkewWindow().toMillis()) {
            return reject.with(
                    ReasonCode.STALE,
                    "iat " + claims.iat() + " is " + describe(Duration.ofMillis(skewMillis))
                            + " the verifier's clock, beyond the window of "
                            + config.clockSkewWindow().toSeconds() + " s; check the device's clock (NTP)");
        }
        if (-skewMillis > Limits.MAX_REPORT_AGE.toMillis()) {
            return reject.with(
                    ReasonCode.STALE,
                    "iat " + claims.iat() + " is " + describe(Duration.ofMillis(skewMillis))
                            + " the verifier's clock, older than the " + Limits.MAX_REPORT_AGE.toDays()
                            + " days a report is accepted; check the device's clock (NTP) if it was not offline that long");
        }
        if (config.challenges().isPresent()) {
            if (claims.nonce().isPresent()) {
                var status =
                        config.challenges().get().check(device, claims.nonce().get(), claims.iat());
                if (status != ChallengeStore.Status.VALID) {
                    return reject.with(
                            ReasonCode.BAD_NONCE,
                            status == ChallengeStore.Status.EXPIRED
                                    ? "nonce was issued to this device more than "
                                            + config.challenges().get().ttl().toSeconds()
                                            + " s before the report was made"
                                    : "nonce was not issued to this device by this verifier (or its group's challenge secret)");
                }
            } else if (config.requireNonce()) {
                return reject.with(ReasonCode.BAD_NONCE, "report answers no challenge and this verifier requires one");
            }
        }
        var implausible = Plausibility.problem(claims, config.limits());
        if (implausible.isPresent()) {
            return reject.with(ReasonCode.IMPLAUSIBLE, implausible.get());
        }

        // First sight: admit the device (bounded count, bounded rate) before anything is recorded.
        var rec = known != null ? known : devices.get(device);
        if (rec == null) {
            String full = admit(pinned != null);
            if (full != null) {
                return reject.with(ReasonCode.RATE_LIMITED, full);
            }
            rec = devices.computeIfAbsent(device, d -> new DeviceRecord());
        }

        // Chain continuity, under the device's lock.
        synchronized (rec) {
            if (rec.isDuplicate(claims.chain(), seq, hash)) {
                return new Appraisal.Accepted(device, seq, claims, true, 0, false, hash);
            }
            if (rec.key != pinned && rec.key != null && !Arrays.equals(rec.key.key, signer.key)) {
                // The pinned key moved on (a rotation accepted concurrently) and this report does not use it.
                return reject.with(
                        ReasonCode.KEY_MISMATCH,
                        "the device's key changed while this report was appraised; it is signed by an older key");
            }
            if (config.keyPins().isPresent() && (rec.key == null || !Arrays.equals(rec.key.key, signer.key))) {
                var store = config.keyPins().get();
                var stored = store.get(device);
                if (stored.isEmpty() || !Arrays.equals(stored.get(), signer.key)) {
                    try {
                        // A rotation is made durable before it is acknowledged; a first sight need not be.
                        store.put(device, signer.key, stored.isPresent());
                    } catch (StateStorageException e) {
                        return reject.with(ReasonCode.VERIFIER_ERROR, e.getMessage() + "; send the report again");
                    }
                }
            }
            var outcome =
                    rec.accept(claims.chain(), seq, claims.prev(), claims.iat().toEpochMilli(), hash);
            if (outcome instanceof ChainOutcome.Refused r) {
                return reject.with(r.reason(), r.detail());
            }
            var ok = (ChainOutcome.Ok) outcome;
            rec.key = signer;
            return new Appraisal.Accepted(device, seq, claims, false, ok.gap(), ok.restart(), hash);
        }
    }

    /**
     * An acceptance to remember across restarts: what the chain check needs of an accepted report.
     * The verifier writes one per accepted report (see the agent's {@code AcceptedLog}) and gives
     * them back to {@link #restore} in the same order when it starts.
     */
    public record AcceptedEntry(
            DeviceId device, byte[] key, byte[] chain, long seq, Optional<byte[]> prev, long iatMillis, byte[] hash) {
        /** The entry for an accepted report: its claims and bytes. */
        public static AcceptedEntry of(Claims claims, byte[] reportBytes) {
            return new AcceptedEntry(
                    claims.device(),
                    claims.key(),
                    claims.chain(),
                    claims.seq(),
                    claims.prev(),
                    claims.iat().toEpochMilli(),
                    Sha256.of(reportBytes));
        }

        /** The entry for an acceptance, with the report hash the appraisal computed. */
        public static AcceptedEntry of(Appraisal.Accepted a) {
            var c = a.claims();
            return new AcceptedEntry(
                    c.device(), c.key(), c.chain(), c.seq(), c.prev(), c.iat().toEpochMilli(), a.reportHash());
        }
    }

    /**
     * Replays an acceptance made by an earlier run of this verifier: updates the device's chain
     * view and pinned key exactly as accepting the report did, without checking it again (it was
     * checked when it was accepted). Entries must come in their original order.
     */
    public void restore(AcceptedEntry e) {
        DeviceRecord rec = devices.computeIfAbsent(e.device(), d -> new DeviceRecord());
        synchronized (rec) {
            if (rec.accept(e.chain(), e.seq(), e.prev(), e.iatMillis(), e.hash()) instanceof ChainOutcome.Ok) {
                if (rec.key == null || !Arrays.equals(rec.key.key, e.key())) {
                    PinnedKey pinned = PinnedKey.of(e.key());
                    if (pinned != null) {
                        rec.key = pinned;
                    }
                }
            }
        }
    }

    /**
     * Whether a device seen for the first time may be tracked: null if so, else why not. A device
     * whose key is pinned already (a verifier restarted without its accepted log) is not new to
     * the rate cap, but counts towards the maximum like any other.
     */
    private String admit(boolean pinnedBefore) {
        if (devices.size() >= config.maxDevices()) {
            return "the verifier tracks its maximum of " + config.maxDevices()
                    + " devices (--max-devices) and takes no new one;" + " send the report again later";
        }
        if (!pinnedBefore
                && config.registry().isEmpty()
                && !newDevices.tryAdmit(config.clock().millis())) {
            return "more than " + config.newDevicesPerMinute() + " new devices a minute (--new-devices-per-minute);"
                    + " send the report again later";
        }
        return null;
    }

    /** The key pinned for a device this process has not seen yet, from the key pin store. */
    private PinnedKey storedPin(DeviceId device) {
        if (config.keyPins().isEmpty()) {
            return null;
        }
        return config.keyPins().get().get(device).map(PinnedKey::of).orElse(null);
    }

    private static String describe(Duration skew) {
        return Math.abs(skew.toSeconds()) + " s " + (skew.isNegative() ? "behind" : "ahead of");
    }

    private final class Rejecter {
        private final DeviceId device;
        private final long seq;

        Rejecter(DeviceId device, long seq) {
            this.device = device;
            this.seq = seq;
        }

        Appraisal with(ReasonCode reason, String detail) {
            return new Appraisal.Rejected(reason, detail, Optional.of(device), OptionalLong.of(seq));
        }
    }

    /** An Ed25519 public key with its decoded point, reused for every verification. */
    private static final class PinnedKey {
        final byte[] key;
        final Ed25519.PublicPoint point;

        private PinnedKey(byte[] key, Ed25519.PublicPoint point) {
            this.key = key;
            this.point = point;
        }

        static PinnedKey of(byte[] key) {
            var point = Ed25519.validatePublicKeyPartialExport(key, 0);
            return point == null ? null : new PinnedKey(key.clone(), point);
        }
    }

    private sealed interface ChainOutcome {
        record Ok(long gap, boolean restart) implements ChainOutcome {}

        record Refused(ReasonCode reason, String detail) implements ChainOutcome {}
    }

    /**
     * One device's view of its chain, guarded by its own monitor; its methods expect the caller to
     * hold it. {@code key} is volatile instead: signature checks read it without the lock.
     */
    private static final class DeviceRecord {
        volatile PinnedKey key;

        @GuardedBy("this")
        private byte[] chain; // null until the first accepted report

        @GuardedBy("this")
        private long lastSeq;

        @GuardedBy("this")
        private final long[] seqs = new long[Limits.DUPLICATE_WINDOW];

        @GuardedBy("this")
        private final byte[][] hashes = new byte[Limits.DUPLICATE_WINDOW][];

        @GuardedBy("this")
        private final byte[][] prevs = new byte[Limits.DUPLICATE_WINDOW][];

        @GuardedBy("this")
        private final byte[][] closedChains = new byte[CLOSED_CHAINS_KEPT][];

        @GuardedBy("this")
        private int closedNext;

        @GuardedBy("this")
        private long lastIatMillis = Long.MIN_VALUE; // newest iat accepted from the device

        private int slot(long seq) {
            return (int) Math.floorMod(seq, (long) Limits.DUPLICATE_WINDOW);
        }

        @GuardedBy("this")
        private boolean remembered(long seq) {
            int i = slot(seq);
            return hashes[i] != null && seqs[i] == seq;
        }

        @GuardedBy("this")
        boolean isDuplicate(byte[] chainId, long seq, byte[] hash) {
            return chain != null
                    && Arrays.equals(chain, chainId)
                    && remembered(seq)
                    && Arrays.equals(hashes[slot(seq)], hash);
        }

        @GuardedBy("this")
        ChainOutcome accept(byte[] chainId, long seq, Optional<byte[]> prev, long iatMillis, byte[] hash) {
            if (chain == null || !Arrays.equals(chain, chainId)) {
                for (var closed : closedChains) {
                    if (closed != null && Arrays.equals(closed, chainId)) {
                        return new ChainOutcome.Refused(
                                ReasonCode.REPLAY,
                                "report of chain " + Hex.encode(chainId) + ", which the device has since restarted");
                    }
                }
                boolean restart = chain != null;
                if (restart && iatMillis < lastIatMillis) {
                    // A genuine but old report of a chain closed long ago (beyond CLOSED_CHAINS_KEPT)
                    // must not switch the device back to that chain.
                    return new ChainOutcome.Refused(
                            ReasonCode.REPLAY,
                            "report of chain " + Hex.encode(chainId)
                                    + " is older than the device's latest accepted report");
                }
                if (restart) {
                    closedChains[closedNext] = chain;
                    closedNext = (closedNext + 1) % CLOSED_CHAINS_KEPT;
                }
                chain = chainId.clone();
                Arrays.fill(hashes, null);
                Arrays.fill(prevs, null);
                lastSeq = seq;
                remember(seq, prev, iatMillis, hash);
                // First sight of a device: start from whatever it sends. A new chain of a known
                // device: a restart; reports before this one in the new chain count as a gap.
                return new ChainOutcome.Ok(restart ? seq - 1 : 0, restart);
            }
            if (remembered(seq)) {
                return new ChainOutcome.Refused(
                        ReasonCode.REPLAY, "seq " + seq + " was already used by a different report");
            }
            if (seq > lastSeq) {
                long gap = seq - lastSeq - 1;
                if (gap == 0 && !prevMatches(prev, seq - 1)) {
                    return new ChainOutcome.Refused(
                            ReasonCode.CHAIN_BREAK, "prev does not match the hash of report " + (seq - 1));
                }
                lastSeq = seq;
                remember(seq, prev, iatMillis, hash);
                return new ChainOutcome.Ok(gap, false);
            }
            if (seq <= lastSeq - Limits.DUPLICATE_WINDOW) {
                return new ChainOutcome.Refused(
                        ReasonCode.REPLAY,
                        "seq " + seq + " is older than the last " + Limits.DUPLICATE_WINDOW
                                + " reports of the chain (last seq " + lastSeq + ")");
            }
            // A late report filling a hole: it must fit the neighbours we have.
            if (remembered(seq - 1) && !prevMatches(prev, seq - 1)) {
                return new ChainOutcome.Refused(
                        ReasonCode.CHAIN_BREAK, "prev does not match the hash of report " + (seq - 1));
            }
            if (remembered(seq + 1) && !Arrays.equals(prevs[slot(seq + 1)], hash)) {
                return new ChainOutcome.Refused(
                        ReasonCode.CHAIN_BREAK, "report " + (seq + 1) + " names a different report as its prev");
            }
            remember(seq, prev, iatMillis, hash);
            return new ChainOutcome.Ok(0, false);
        }

        @GuardedBy("this")
        private boolean prevMatches(Optional<byte[]> prev, long prevSeq) {
            return remembered(prevSeq) && prev.isPresent() && Arrays.equals(hashes[slot(prevSeq)], prev.get());
        }

        @GuardedBy("this")
        private void remember(long seq, Optional<byte[]> prev, long iatMillis, byte[] hash) {
            lastIatMillis = Math.max(lastIatMillis, iatMillis);
            int i = slot(seq);
            seqs[i] = seq;
            hashes[i] = hash;
            prevs[i] = prev.orElse(null);
        }
    }
}
