package dev.prospector.agent.verifier;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.ReasonCode;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.tinylog.Logger;

/**
 * The network side's verifier: takes every report of a fleet from the broker, appraises it, logs
 * one line per outcome and sends the outcome to the device as a receipt on
 * {@code prospector/v1/<fleet>/<device>/receipt}.
 *
 * <p>With a group name several verifiers share the reports through an MQTT 5 shared subscription
 * ({@code $share/<group>/…}); the broker hands each report to one of them.
 */
public final class VerifierService implements AutoCloseable {

    /** Counts per device. */
    public static final class DeviceCounts {
        final LongAdder accepted = new LongAdder();
        final LongAdder duplicates = new LongAdder();
        final LongAdder rejected = new LongAdder();
        final LongAdder gaps = new LongAdder();

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
    }

    private final String fleet;
    private final Appraiser appraiser;
    private final MqttLink link;
    private final Map<String, DeviceCounts> counts = new ConcurrentHashMap<>();
    private final CopyOnWriteArrayList<Consumer<Appraisal>> observers = new CopyOnWriteArrayList<>();

    /**
     * @param group shared-subscription group, or empty to receive every report of the fleet
     */
    public VerifierService(String fleet, Appraiser appraiser, Optional<String> group, LinkFactory links) {
        this.fleet = fleet;
        this.appraiser = appraiser;
        this.link = links.create(this::onReport);
        String filter = Topics.allReports(fleet);
        link.subscribe(group.map(g -> Topics.shared(g, filter)).orElse(filter), 1);
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

    /** Called with every outcome, on the MQTT thread; must not block. */
    public void observe(Consumer<Appraisal> observer) {
        observers.add(observer);
    }

    public Map<String, DeviceCounts> counts() {
        return Map.copyOf(counts);
    }

    void onReport(String topic, byte[] payload) {
        Optional<String> fromTopic = Topics.deviceOf(fleet, topic);
        Appraisal outcome = appraiser.appraise(payload);
        if (outcome instanceof Appraisal.Accepted a && fromTopic.isPresent() && !fromTopic.get().equals(a.device().value())) {
            // Signed by a real device, but published under another device's topic.
            outcome = new Appraisal.Rejected(ReasonCode.MALFORMED, "report of device " + a.device()
                    + " arrived on the topic of device " + fromTopic.get(), Optional.of(a.device()),
                    java.util.OptionalLong.of(a.seq()));
        }
        String device = outcome instanceof Appraisal.Accepted a ? a.device().value()
                : ((Appraisal.Rejected) outcome).device().map(Object::toString).orElse(fromTopic.orElse("unknown"));
        DeviceCounts c = counts.computeIfAbsent(device, d -> new DeviceCounts());
        if (outcome instanceof Appraisal.Accepted a) {
            if (a.duplicate()) {
                c.duplicates.increment();
                Logger.debug("{}", a);
            } else {
                c.accepted.increment();
                c.gaps.add(a.gap());
                Logger.info("{}", a);
            }
        } else {
            c.rejected.increment();
            Logger.warn("{}", outcome);
        }
        Appraisal seen = outcome;
        observers.forEach(o -> o.accept(seen));
        if (fromTopic.isPresent()) {
            link.publish(Topics.receipt(fleet, fromTopic.get()), receipt(outcome), 1, false);
        }
    }

    /** The receipt a device gets: the outcome, its reason code and a sentence for people. */
    static byte[] receipt(Appraisal outcome) {
        CBORObject r = CBORObject.NewOrderedMap();
        if (outcome instanceof Appraisal.Accepted a) {
            r.Add("outcome", "accepted").Add("device", a.device().value()).Add("seq", a.seq())
                    .Add("duplicate", a.duplicate()).Add("gap", a.gap());
        } else {
            Appraisal.Rejected x = (Appraisal.Rejected) outcome;
            r.Add("outcome", "rejected").Add("reason", x.reason().code()).Add("detail", x.detail());
            x.device().ifPresent(d -> r.Add("device", d.value()));
            if (x.seq().isPresent()) {
                r.Add("seq", x.seq().getAsLong());
            }
        }
        return r.ToJSONString().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        link.close();
    }
}
