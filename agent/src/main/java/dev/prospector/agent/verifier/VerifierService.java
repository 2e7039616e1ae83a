package dev.prospector.agent.verifier;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.DeviceId;
import java.util.concurrent.CompletableFuture;
import dev.prospector.attest.ReasonCode;
import dev.prospector.attest.Receipt;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import org.tinylog.Logger;

/**
 * The network side's verifier: takes every report of a fleet from the broker, appraises it, logs
 * one line per outcome and sends the outcome to the device as a receipt (attest's {@link Receipt}:
 * outcome, reason, the report's hash, the verifier's time and clock-skew window, and a fresh
 * challenge when the appraiser has a challenge store) on {@code prospector/v1/<fleet>/<device>/receipt}.
 *
 * <h2>Scaling out</h2>
 * Verifiers of one group share the fleet's reports through an MQTT 5 shared subscription
 * ({@code $share/<group>/prospector/v1/<fleet>/+/report}): the broker hands each report to one of
 * them. A device's chain must be judged in one place, so devices are partitioned
 * ({@link Partitioning}); a verifier that receives a report of a device it does not own forwards it
 * to the owner's topic {@code prospector/v1/<fleet>/verifiers/<group>/<partition>/<device>}, which
 * the owner subscribes to directly. The original report is acknowledged to the broker only after the
 * forward's PUBACK, so a verifier that dies mid-forward loses nothing: the broker sends the report
 * again. Appraisal is idempotent by (device, seq), so such a re-send counts once.
 *
 * <p>Messages are acknowledged only after they are appraised (or forwarded); a verifier killed
 * mid-report gets it again from its persistent session.
 */
public final class VerifierService implements AutoCloseable {

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
    private final Optional<Partitioning> partitioning;
    private final Optional<AcceptedLog> acceptedLog;
    private final MqttLink link;
    private final Map<String, DeviceCounts> counts = new ConcurrentHashMap<>();
    private final LongAdder forwarded = new LongAdder();
    private final CopyOnWriteArrayList<BiConsumer<String, Appraisal>> observers = new CopyOnWriteArrayList<>();

    /**
     * @param partitioning the group and this verifier's partition, or empty to receive every
     *     report of the fleet alone
     */
    public VerifierService(String fleet, Appraiser appraiser, Optional<Partitioning> partitioning, LinkFactory links) {
        this(fleet, appraiser, partitioning, Optional.empty(), links);
    }

    /**
     * @param acceptedLog where acceptances are made durable before they are acknowledged (see
     *     {@link AcceptedLog}); empty to keep them in memory only
     */
    public VerifierService(String fleet, Appraiser appraiser, Optional<Partitioning> partitioning,
            Optional<AcceptedLog> acceptedLog, LinkFactory links) {
        this.fleet = fleet;
        this.appraiser = appraiser;
        this.partitioning = partitioning;
        this.acceptedLog = acceptedLog;
        this.link = links.create((MqttLink.AcknowledgingListener) this::onMessage);
        String reports = Topics.allReports(fleet);
        if (partitioning.isPresent()) {
            Partitioning p = partitioning.get();
            link.subscribe(Topics.shared(p.group(), reports), 1);
            link.subscribe(Topics.forwardedReports(fleet, p.group(), p.index()), 1);
        } else {
            link.subscribe(reports, 1);
        }
    }

    /** Builds the verifier's link given its message handler. */
    @FunctionalInterface
    public interface LinkFactory {
        MqttLink create(MqttLink.Listener listener);
    }

    /** Connects now; fails with one line when the broker cannot be reached. */
    public void connect() {
        link.connect();
    }

    /** Called with (device, outcome) for every report appraised here, on the MQTT thread; must not block. */
    public void observe(BiConsumer<String, Appraisal> observer) {
        observers.add(observer);
    }

    public Map<String, DeviceCounts> counts() {
        return Map.copyOf(counts);
    }

    /** Reports handed to the partition that owns their device. */
    public long forwarded() {
        return forwarded.sum();
    }

    void onMessage(String topic, byte[] payload, Runnable ack) {
        Optional<String> reported = Topics.deviceOfReport(fleet, topic);
        Optional<String> device = reported.or(() -> Topics.deviceOfForwarded(fleet, topic));
        if (device.isEmpty()) {
            Logger.warn("ignored a message on unexpected topic {}", topic);
            ack.run();
            return;
        }
        String d = device.get();
        if (reported.isPresent() && partitioning.isPresent() && !partitioning.get().owns(d)) {
            Partitioning p = partitioning.get();
            String to = Topics.forwarded(fleet, p.group(), p.owner(d), d);
            link.publish(to, payload, 1, false).whenComplete((ok, failure) -> {
                if (failure == null) {
                    forwarded.increment();
                    ack.run();
                } else {
                    // Not acknowledged: the broker sends the report to us (or a peer) again.
                    Logger.warn("forwarding a report of {} to partition {} failed: {}", d, p.owner(d),
                            failure.getMessage());
                }
            });
            return;
        }
        appraise(d, payload, ack);
    }

    private void appraise(String topicDevice, byte[] payload, Runnable ack) {
        Appraisal outcome = appraiser.appraise(payload);
        if (outcome instanceof Appraisal.Accepted a && !topicDevice.equals(a.device().value())) {
            // Signed by a real device, but published under another device's topic.
            outcome = new Appraisal.Rejected(ReasonCode.MALFORMED, "report of device " + a.device()
                    + " arrived on the topic of device " + topicDevice, Optional.of(a.device()), OptionalLong.of(a.seq()));
        }
        Appraisal result = outcome;
        CompletableFuture<Void> durable = CompletableFuture.completedFuture(null);
        if (acceptedLog.isPresent() && outcome instanceof Appraisal.Accepted a && !a.duplicate()) {
            durable = acceptedLog.get().append(Appraiser.AcceptedEntry.of(a));
        }
        durable.whenComplete((ok, failure) -> {
            if (failure != null) {
                // Not durable, so not acknowledged: the broker delivers the report again.
                Logger.error("could not record the acceptance of a report of {}: {}", topicDevice, failure.getMessage());
                return;
            }
            conclude(topicDevice, payload, result);
            ack.run();
        });
    }

    /** Counts, logs and announces an outcome that is final (for an acceptance: durable). */
    private void conclude(String topicDevice, byte[] payload, Appraisal outcome) {
        DeviceCounts c = counts.computeIfAbsent(topicDevice, d -> new DeviceCounts());
        if (outcome instanceof Appraisal.Accepted a) {
            if (a.duplicate()) {
                c.duplicates.increment();
                Logger.debug("{}", a);
            } else {
                c.accepted.increment();
                c.gaps.add(a.gap());
                if (a.claims().nonce().isPresent()) {
                    c.answered.increment();
                }
                Logger.info("{}", a);
            }
        } else {
            c.rejected.increment();
            Logger.warn("{} (topic device {})", outcome, topicDevice);
        }
        observers.forEach(o -> o.accept(topicDevice, outcome));
        link.publish(Topics.receipt(fleet, topicDevice), receipt(topicDevice, outcome, payload).encode(), 1, false);
    }

    /**
     * The receipt for an outcome, with a fresh challenge for the device whose topic it goes to when
     * the report is that device's and its signature verified (so nobody can have a challenge for
     * another device, or none at all, sent to a device by publishing under its topic): the device
     * answers it in its next reports (claim {@code nonce}).
     */
    private Receipt receipt(String topicDevice, Appraisal outcome, byte[] payload) {
        Receipt receipt = Receipt.of(outcome, payload, appraiser.config());
        Optional<DeviceId> signedBy = outcome instanceof Appraisal.Accepted a ? Optional.of(a.device())
                : SIGNATURE_CHECKED.contains(((Appraisal.Rejected) outcome).reason()) ? ((Appraisal.Rejected) outcome).device() : Optional.empty();
        var challenges = appraiser.config().challenges();
        if (signedBy.isPresent() && signedBy.get().value().equals(topicDevice) && challenges.isPresent()) {
            receipt = receipt.withChallenge(new Receipt.Challenge(challenges.get().issue(signedBy.get()), challenges.get().ttl()));
        }
        return receipt;
    }

    /** Rejections the appraiser makes only after the report's signature verified. */
    private static final java.util.Set<ReasonCode> SIGNATURE_CHECKED = java.util.EnumSet.of(ReasonCode.STALE, ReasonCode.BAD_NONCE,
            ReasonCode.IMPLAUSIBLE, ReasonCode.REPLAY, ReasonCode.CHAIN_BREAK);

    /** One outcome as JSON, for {@code prospector verifier --json}. */
    public static CBORObject outcomeJson(String device, Appraisal outcome) {
        CBORObject r = CBORObject.NewOrderedMap();
        if (outcome instanceof Appraisal.Accepted a) {
            r.Add("outcome", "accepted").Add("device", a.device().value()).Add("seq", a.seq())
                    .Add("duplicate", a.duplicate()).Add("gap", a.gap()).Add("chain_restart", a.chainRestart());
        } else {
            Appraisal.Rejected x = (Appraisal.Rejected) outcome;
            r.Add("outcome", "rejected").Add("device", x.device().map(Object::toString).orElse(device))
                    .Add("reason", x.reason().code()).Add("detail", x.detail());
            if (x.seq().isPresent()) {
                r.Add("seq", x.seq().getAsLong());
            }
        }
        return r;
    }

    @Override
    public void close() {
        link.close();
        acceptedLog.ifPresent(AcceptedLog::close);
    }
}
