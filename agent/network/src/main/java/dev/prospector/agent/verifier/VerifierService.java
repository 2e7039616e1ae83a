package dev.prospector.agent.verifier;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.Claims;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Limits;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.ReasonCode;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.Report;
import dev.prospector.attest.Sha256;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import org.tinylog.Logger;

/**
 * The network side's verifier: takes every report of a fleet from the broker, appraises it, logs
 * one line per outcome (at most {@link OutcomeLog#LINES} of a kind in {@link OutcomeLog#WINDOW})
 * and sends the outcome to the device as a receipt (attest's {@link Receipt}:
 * outcome, reason, the report's hash, the verifier's time and clock-skew window, and a fresh
 * challenge when the appraiser has a challenge store) on {@code prospector/v1/<fleet>/<device>/receipt}.
 * Every receipt is a tagged COSE_Sign1 signed by the verifier's own key ({@link Receipt#sign}), so
 * a board can tell the verifier's word from anyone else's who can publish on the broker.
 *
 * <h2>One verifier per fleet</h2>
 * It subscribes to every report of the fleet ({@code prospector/v1/<fleet>/+/report}) and alone
 * holds every device's chain. More than one verifier per fleet is the Kafka mode's job ({@code
 * prospector verifier --kafka}, agent/kafka); the MQTT forwarding group that shared a fleet between
 * verifiers on MQTT alone was retired (docs/NETWORK.md).
 *
 * <p>Messages are acknowledged only after they are appraised; a verifier killed mid-report gets it
 * again from its persistent session. Appraisal is idempotent by (device, seq), so such a re-send
 * counts once.
 *
 * <h2>Every core</h2>
 * Appraisal does not run on Paho's one callback thread: that thread only reads the topic and hands
 * the report to one of {@link #workers()} appraisal workers ({@link AppraisalWorkers}), the one its
 * device is pinned to, so a device's reports are appraised one at a time in arrival order (its chain
 * stays in order) while other devices' go on in parallel. What each worker does for a report is
 * what the callback thread did before: appraise, make an acceptance durable, count, and then queue
 * the receipt for the receipt signer ({@link ReceiptSigner}: one signature for many receipts when
 * reports queue up) and acknowledge. The acknowledgements go to the broker in the order the
 * reports arrived ({@link AckOrder}), whichever worker finishes first. A full worker queue holds the
 * callback thread back, so the broker's in-flight window, not memory, bounds the reports in hand.
 *
 * <h2>What a publisher on the broker cannot do</h2>
 * <ul>
 *   <li>Make it hold state for junk topics: a message whose topic's device segment is not a device
 *       id ({@link DeviceId#isValid}) is acknowledged and dropped without appraisal, counted in
 *       {@link #droppedTopics()} and logged only at 1, 10, 100, ... such messages. Per-device
 *       counts exist only for devices the appraiser tracks (bounded by its admission, see
 *       {@code AppraiserConfig.maxDevices} and {@code newDevicesPerMinute}); outcomes for other
 *       devices are summed in {@link #untracked()}.
 *   <li>Send it huge messages: its CONNECT announces a Maximum Packet Size of
 *       {@link #MAX_PACKET_BYTES} (with {@link #links}), so the broker drops larger ones for it; a
 *       message that does not decode is acknowledged and refused ({@code malformed}), never left
 *       unacknowledged to be delivered again after every reconnect.
 *   <li>Spoil a genuine report by showing it first under another device's topic: the topic's
 *       device goes into the appraisal, which refuses a mismatch ({@code wrong-topic}) before any
 *       chain state changes.
 *   <li>Have a duplicate counted twice: a report accepted before is answered with the same kind of
 *       receipt ({@code dup}) at the cost of a hash lookup and a share of a signature, and counted only as a
 *       duplicate. Boards re-send a report until its receipt arrives, so duplicates are common.
 * </ul>
 */
public final class VerifierService implements AutoCloseable {

    /**
     * The Maximum Packet Size the verifier announces to its broker: a report of
     * {@link Limits#MAX_REPORT_BYTES} plus 1 KiB for the PUBLISH header, its topic (under 200 bytes)
     * and properties. Anything larger is no report.
     */
    public static final int MAX_PACKET_BYTES = Limits.MAX_REPORT_BYTES + 1024;

    /** Receipts under one signature, at most, by default ({@link ReceiptSigner}). */
    public static final int DEFAULT_RECEIPT_BATCH = 64;

    /** How long {@link #close} lets the workers finish the reports they hold. */
    static final Duration CLOSE_WAIT = Duration.ofSeconds(5);

    /** Counts per device. */
    public static final class DeviceCounts {
        final LongAdder accepted = new LongAdder();
        final LongAdder duplicates = new LongAdder();
        final LongAdder rejected = new LongAdder();
        final LongAdder gaps = new LongAdder();
        final LongAdder answered = new LongAdder();

        public long accepted() {
            return accepted.sum();
        }

        public long duplicates() {
            return duplicates.sum();
        }

        public long rejected() {
            return rejected.sum();
        }

        /** Seqs skipped, summed over all gaps. */
        public long gaps() {
            return gaps.sum();
        }

        /** Accepted reports that answered a challenge (carried a valid nonce). */
        public long answered() {
            return answered.sum();
        }
    }

    private final String fleet;
    private final Appraiser appraiser;
    private final DeviceKeys receiptKey;
    private final Optional<AcceptedLog> acceptedLog;
    private final Optional<ProofOfService> proofs;
    private final MqttLink link;
    private final AppraisalWorkers workers;
    private final ReceiptSigner receipts;
    private final AckOrder acks = new AckOrder();
    private final Map<DeviceId, DeviceCounts> counts = new ConcurrentHashMap<>();
    private final DeviceCounts untracked = new DeviceCounts();
    private final AtomicLong droppedTopics = new AtomicLong();
    private final OutcomeLog lines = new OutcomeLog();
    private final CopyOnWriteArrayList<BiConsumer<String, Appraisal>> observers = new CopyOnWriteArrayList<>();

    /** @param receiptKey the verifier's key, which signs every receipt */
    public VerifierService(String fleet, Appraiser appraiser, DeviceKeys receiptKey, LinkFactory links) {
        this(fleet, appraiser, receiptKey, Optional.empty(), links);
    }

    /**
     * @param receiptKey  the verifier's key, which signs every receipt
     * @param acceptedLog where acceptances are made durable before they are acknowledged (see
     *     {@link AcceptedLog}); empty to keep them in memory only
     */
    public VerifierService(
            String fleet,
            Appraiser appraiser,
            DeviceKeys receiptKey,
            Optional<AcceptedLog> acceptedLog,
            LinkFactory links) {
        this(fleet, appraiser, receiptKey, acceptedLog, Optional.empty(), links);
    }

    /**
     * @param receiptKey  the verifier's key, which signs every receipt
     * @param acceptedLog where acceptances are made durable before they are acknowledged (see
     *     {@link AcceptedLog}); empty to keep them in memory only
     * @param service     the judge of proofs of service, which adds audits and bandwidth tests to
     *     challenges and its verdict to receipts; empty for none
     */
    public VerifierService(
            String fleet,
            Appraiser appraiser,
            DeviceKeys receiptKey,
            Optional<AcceptedLog> acceptedLog,
            Optional<ProofOfService> service,
            LinkFactory links) {
        this(fleet, appraiser, receiptKey, acceptedLog, service, defaultWorkers(), DEFAULT_RECEIPT_BATCH, links);
    }

    /**
     * @param workers appraisal workers (threads), each device pinned to one; {@link #defaultWorkers()}
     *     uses every core
     * @param receiptBatch receipts under one signature, at most ({@link ReceiptSigner}); 1 signs each
     *     receipt alone, the only form boards before batched receipts read
     */
    public VerifierService(
            String fleet,
            Appraiser appraiser,
            DeviceKeys receiptKey,
            Optional<AcceptedLog> acceptedLog,
            Optional<ProofOfService> service,
            int workers,
            int receiptBatch,
            LinkFactory links) {
        this.fleet = fleet;
        this.proofs = service;
        this.appraiser = appraiser;
        this.receiptKey = receiptKey;
        this.acceptedLog = acceptedLog;
        this.workers = new AppraisalWorkers(workers, "verifier-appraise");
        MqttLink created;
        try {
            created = links.create((MqttLink.AcknowledgingListener) this::onMessage);
        } catch (RuntimeException e) {
            this.workers.close(Duration.ZERO);
            throw e;
        }
        this.link = created;
        this.receipts = new ReceiptSigner(
                receiptKey,
                receiptBatch,
                (topic, message) -> link.publish(topic, message, 1, false),
                "verifier-receipts");
        link.subscribe(Topics.allReports(fleet), 1);
    }

    /** Appraisal workers by default: one per available processor. */
    public static int defaultWorkers() {
        return Runtime.getRuntime().availableProcessors();
    }

    /** How many appraisal workers this verifier runs. */
    public int workers() {
        return workers.size();
    }

    /** Builds the verifier's link given its message handler. */
    @FunctionalInterface
    public interface LinkFactory {
        MqttLink create(MqttLink.Listener listener);
    }

    /** The verifier's links over {@code mqtt}: no will, and {@link #MAX_PACKET_BYTES} announced. */
    public static LinkFactory links(MqttSettings mqtt) {
        MqttSettings bounded = mqtt.withMaxPacketBytes(MAX_PACKET_BYTES);
        return listener -> new MqttLink(bounded, Optional.empty(), listener);
    }

    /** Connects now; fails with one line when the broker cannot be reached. */
    public void connect() {
        link.connect();
    }

    /**
     * Connects in the background and keeps trying with backoff until the broker answers (one
     * warning per distinct failure); never fails. For a verifier that may start before its broker.
     */
    public void start() {
        link.start();
    }

    /**
     * Called with (device, outcome) for every report appraised here, on the appraisal worker of the
     * device (with an accepted log: on its sync thread once the acceptance is durable), so one
     * device's outcomes come in order and different devices' concurrently; must be thread-safe and
     * must not block.
     */
    public void observe(BiConsumer<String, Appraisal> observer) {
        observers.add(observer);
    }

    /** Counts of the devices the appraiser tracks, by device id. */
    public Map<String, DeviceCounts> counts() {
        Map<String, DeviceCounts> out = new HashMap<>();
        counts.forEach((d, c) -> out.put(d.value(), c));
        return Map.copyOf(out);
    }

    /** Outcomes for devices the appraiser does not track (never accepted, refused as new, unknown). */
    public DeviceCounts untracked() {
        return untracked;
    }

    /**
     * Every device's proof-of-service standing (uptime, storage proven, bandwidth, reputation,
     * audits, score, reward so far); empty without proofs of service.
     */
    public Map<String, ProofOfService.DeviceScore> scores() {
        return proofs.map(ProofOfService::scores).orElse(Map.of());
    }

    /** Receipts signed so far and the signatures that covered them (fewer under load: batches). */
    public record ReceiptSigning(long receipts, long signatures) {
        /** Receipts per signature; NaN before the first. */
        public double perSignature() {
            return signatures == 0 ? Double.NaN : (double) receipts / signatures;
        }
    }

    /** How many receipts this verifier signed, under how many signatures. */
    public ReceiptSigning receiptSigning() {
        return new ReceiptSigning(receipts.receipts(), receipts.signatures());
    }

    /** Messages dropped unappraised because their topic names no device id. */
    public long droppedTopics() {
        return droppedTopics.get();
    }

    /** The public key that verifies this verifier's receipts (what boards trust with --verifier-key). */
    public byte[] receiptPublicKey() {
        return receiptKey.publicKey();
    }

    void onMessage(String topic, byte[] payload, Runnable ack) {
        AckOrder.Slot slot = acks.enter(ack);
        try {
            handle(topic, payload, slot);
        } catch (RuntimeException e) {
            // Never leave a message unacknowledged for a bug: it would come back after every reconnect.
            Logger.error(e, "handling a message on {} failed; acknowledged and dropped", shorten(topic));
            slot.ack();
        }
    }

    private void handle(String topic, byte[] payload, AckOrder.Slot ack) {
        Optional<String> segment = Topics.deviceOfReport(fleet, topic);
        if (segment.isEmpty() || !DeviceId.isValid(segment.get())) {
            drop(topic);
            ack.ack();
            return;
        }
        DeviceId d = new DeviceId(segment.get());
        if (!workers.submit(d.value(), () -> appraiseOrDrop(d, payload, ack, topic))) {
            ack.release(); // closing: the broker sends it again to this verifier's next run
        }
    }

    /** On the device's worker: appraises, and acknowledges whatever happens but an acceptance not made durable. */
    private void appraiseOrDrop(DeviceId d, byte[] payload, AckOrder.Slot ack, String topic) {
        try {
            appraise(d, payload, ack);
        } catch (RuntimeException e) {
            // Never leave a message unacknowledged for a bug: it would come back after every reconnect.
            Logger.error(e, "appraising a report on {} failed; acknowledged and dropped", shorten(topic));
            ack.ack();
        }
    }

    /** Counts a message whose topic names no device; says so at the 1st, 10th, 100th, ... */
    private void drop(String topic) {
        long n = droppedTopics.incrementAndGet();
        if (n == 1 || OutcomeLog.isPowerOfTen(n)) {
            Logger.warn(
                    "dropped {} message(s) so far on topics that name no device of fleet {} (latest: {})",
                    n,
                    fleet,
                    shorten(topic));
        } else {
            Logger.debug("dropped a message on topic {}", shorten(topic));
        }
    }

    /** A topic fit for a log line: at most 120 characters. */
    private static String shorten(String topic) {
        return topic.length() <= 120 ? topic : topic.substring(0, 100) + "…(" + topic.length() + " characters)";
    }

    private void appraise(DeviceId topicDevice, byte[] payload, AckOrder.Slot ack) {
        long arrival = appraiser.config().clock().millis();
        Appraisal outcome = lateCopyAsDuplicate(appraiser.appraise(payload, topicDevice), payload);
        CompletableFuture<Void> durable = CompletableFuture.completedFuture(null);
        if (acceptedLog.isPresent() && outcome instanceof Appraisal.Accepted a && !a.duplicate()) {
            durable = acceptedLog.get().append(Appraiser.AcceptedEntry.of(a));
        }
        durable.whenComplete((ok, failure) -> {
            if (failure != null) {
                // Not durable, so not acknowledged: the broker delivers the report again.
                Logger.error(
                        "could not record the acceptance of a report of {}: {}", topicDevice, failure.getMessage());
                ack.release();
                return;
            }
            Receipt receipt;
            try {
                receipt = conclude(topicDevice, payload, outcome, arrival);
            } finally {
                ack.ack();
            }
            // Signed and sent by the receipt signer, a few at a time under load. A receipt lost in a
            // crash before it went out is lost as a publish queued in Paho always was: the board sends
            // its report again until a receipt comes, and gets a duplicate's.
            receipts.submit(Topics.receipt(fleet, topicDevice.value()), receipt);
        });
    }

    /**
     * A report refused as a replay that the accepted log holds with these very bytes (same device,
     * chain, seq and report hash; {@link AcceptedLog#holds}) is a late copy of an accepted report,
     * further back than the appraiser's window (its receipt was lost, and the board sent it again
     * after more than {@link Limits#DUPLICATE_WINDOW} newer ones): answered as the duplicate it is,
     * so the board does not count an accepted report as refused. A different report with that seq
     * stays a replay. A replay refusal comes only after the signature verified, so the extra decode,
     * hash and one-record read are paid only for genuine reports of the device. The appraiser's own
     * counters ({@link Appraiser#stats}) still count it as a replay; this verifier's counts, its
     * log line and the receipt say duplicate.
     */
    private Appraisal lateCopyAsDuplicate(Appraisal outcome, byte[] payload) {
        if (acceptedLog.isEmpty()
                || !(outcome instanceof Appraisal.Rejected r)
                || r.reason() != ReasonCode.REPLAY
                || r.seq().isEmpty()) {
            return outcome;
        }
        Claims claims;
        try {
            claims = Report.decode(payload).claims();
        } catch (MalformedReportException e) {
            return outcome; // cannot be: it was decoded to be refused as a replay
        }
        byte[] hash = Sha256.of(payload);
        if (acceptedLog.get().holds(claims.device(), claims.chain(), claims.seq(), hash)) {
            return new Appraisal.Accepted(claims.device(), claims.seq(), claims, true, 0, false, hash);
        }
        return outcome;
    }

    /**
     * Counts, logs and announces an outcome that is final (for an acceptance: durable); returns the
     * receipt to sign and send.
     */
    private Receipt conclude(DeviceId topicDevice, byte[] payload, Appraisal outcome, long arrival) {
        Optional<ProofOfService.Verdict> verdict = judge(proofs, outcome, arrival);
        DeviceCounts c = appraiser.tracks(topicDevice)
                ? counts.computeIfAbsent(topicDevice, d -> new DeviceCounts())
                : untracked;
        if (outcome instanceof Appraisal.Accepted a) {
            if (a.duplicate()) {
                c.duplicates.increment();
            } else {
                c.accepted.increment();
                c.gaps.add(a.gap());
                if (a.claims().nonce().isPresent()) {
                    c.answered.increment();
                }
            }
        } else {
            c.rejected.increment();
        }
        lines.log(topicDevice.value(), outcome, c != untracked);
        observers.forEach(o -> o.accept(topicDevice.value(), outcome));
        return receipt(appraiser.config(), proofs, topicDevice, outcome, payload, verdict);
    }

    /**
     * What {@code proofs} make of an accepted report that arrived at {@code arrivalMs}; empty for a
     * rejection, without proofs, or when judging failed (logged: a bug in judging the evidence must
     * not cost the report its receipt). Shared by the MQTT and the Kafka verifier.
     */
    public static Optional<ProofOfService.Verdict> judge(
            Optional<ProofOfService> proofs, Appraisal outcome, long arrivalMs) {
        if (outcome instanceof Appraisal.Accepted a && proofs.isPresent()) {
            try {
                return Optional.of(proofs.get().onAccepted(a, arrivalMs));
            } catch (RuntimeException e) {
                Logger.error(e, "judging the proof of service of {} failed", a);
            }
        }
        return Optional.empty();
    }

    /**
     * The receipt for an outcome, with a fresh challenge for the device whose topic it goes to when
     * the report is that device's and its signature verified (so nobody can have a challenge for
     * another device, or none at all, sent to a device by publishing under its topic): the device
     * answers it in its next reports (claim {@code nonce}). Shared by the MQTT and the Kafka verifier.
     */
    public static Receipt receipt(
            dev.prospector.attest.AppraiserConfig config,
            Optional<ProofOfService> proofs,
            DeviceId topicDevice,
            Appraisal outcome,
            byte[] payload,
            Optional<ProofOfService.Verdict> verdict) {
        Receipt receipt = Receipt.of(outcome, payload, config);
        if (verdict.isPresent()) {
            receipt = receipt.withService(verdict.get().service(), verdict.get().disqualified());
        }
        Optional<Receipt.Challenge> challenge = challenge(config, topicDevice, outcome);
        if (challenge.isPresent()) {
            receipt = receipt.withChallenge(duties(proofs, outcome, topicDevice, challenge.get()));
        }
        return receipt;
    }

    /**
     * A fresh challenge for the device whose topic (or Kafka key) the report came under, when the
     * report is that device's and its signature verified, and the appraiser has a challenge store;
     * else empty.
     */
    static Optional<Receipt.Challenge> challenge(
            dev.prospector.attest.AppraiserConfig config, DeviceId topicDevice, Appraisal outcome) {
        Optional<DeviceId> signedBy = outcome instanceof Appraisal.Accepted a
                ? Optional.of(a.device())
                : SIGNATURE_CHECKED.contains(((Appraisal.Rejected) outcome).reason())
                        ? ((Appraisal.Rejected) outcome).device()
                        : Optional.empty();
        var challenges = config.challenges();
        if (signedBy.isPresent() && signedBy.get().equals(topicDevice) && challenges.isPresent()) {
            return Optional.of(new Receipt.Challenge(
                    challenges.get().issue(signedBy.get()), challenges.get().ttl()));
        }
        return Optional.empty();
    }

    /**
     * {@code c} with the audit or bandwidth test {@code proofs} asks, for a report accepted and new
     * only: anyone can replay a board's old report, and its duplicate must not use up the board's
     * audit (which would lapse offline) or reset its bandwidth ask.
     */
    static Receipt.Challenge duties(
            Optional<ProofOfService> proofs, Appraisal outcome, DeviceId device, Receipt.Challenge c) {
        if (proofs.isPresent() && outcome instanceof Appraisal.Accepted a && !a.duplicate()) {
            return proofs.get().duties(device, c);
        }
        return c;
    }

    /** Rejections the appraiser makes only after the report's signature verified. */
    private static final java.util.Set<ReasonCode> SIGNATURE_CHECKED = java.util.EnumSet.of(
            ReasonCode.STALE,
            ReasonCode.BAD_NONCE,
            ReasonCode.IMPLAUSIBLE,
            ReasonCode.REPLAY,
            ReasonCode.CHAIN_BREAK,
            ReasonCode.RATE_LIMITED);

    /** One outcome as JSON, for {@code prospector verifier --json}. */
    public static CBORObject outcomeJson(String device, Appraisal outcome) {
        CBORObject r = CBORObject.NewOrderedMap();
        if (outcome instanceof Appraisal.Accepted a) {
            r.Add("outcome", "accepted")
                    .Add("device", a.device().value())
                    .Add("seq", a.seq())
                    .Add("duplicate", a.duplicate())
                    .Add("gap", a.gap())
                    .Add("chain_restart", a.chainRestart());
        } else {
            Appraisal.Rejected x = (Appraisal.Rejected) outcome;
            r.Add("outcome", "rejected")
                    .Add("device", x.device().map(Object::toString).orElse(device))
                    .Add("reason", x.reason().code())
                    .Add("detail", x.detail());
            if (x.seq().isPresent()) {
                r.Add("seq", x.seq().getAsLong());
            }
        }
        return r;
    }

    @Override
    public void close() {
        // The workers finish what they hold while the link is still up (receipts, acknowledgements);
        // what arrives meanwhile is left unacknowledged, for the next run.
        workers.close(CLOSE_WAIT);
        receipts.close(CLOSE_WAIT);
        link.close();
        acceptedLog.ifPresent(AcceptedLog::close);
        proofs.ifPresent(ProofOfService::close);
    }
}
