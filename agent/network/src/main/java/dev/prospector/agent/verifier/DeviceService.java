package dev.prospector.agent.verifier;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.attest.PlotCommitment;
import dev.prospector.attest.PlotParams;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the verifier knows of one device's service: reputation, containment, its plot commitment
 * and the audit it owes, bandwidth tests, the report uptime is measured from, and the uptime
 * credited to epochs not yet closed. Mutable, not thread-safe: {@link ProofOfService} reaches it
 * only under its lock. {@link #toCbor} and {@link #fromCbor} are its form in {@code pos.state}.
 */
final class DeviceService {
    /** An audit issued and not yet decided. */
    record Pending(byte[] nonce, PlotCommitment commitment, int leaves, long issuedMs, long deadlineMs) {}

    /** An audit of {@code commitment} that passed at {@code atMs} (verifier clock). */
    record Success(PlotCommitment commitment, long atMs) {}

    /** Successes kept: enough to credit an epoch whose audit passed before a later one did. */
    static final int SUCCESSES_KEPT = 4;

    /** The last accepted report that uptime counts from. */
    record LastReport(String boot, long run, long upMs, long arrivalMs) {}

    final byte[] firstKey;
    Reputation reputation = Reputation.fresh();
    final long[] audits = new long[AuditOutcome.values().length];
    boolean contained;
    int lateInRow;
    PlotCommitment commitment;
    Pending pending;
    long nextAuditMs;
    /** The latest audits that passed, oldest first; cleared when the commitment changes or an audit fails or is dodged. */
    final Deque<Success> successes = new ArrayDeque<>();
    /** While contained: the audit that is asked again (same nonce, leaves and commitment). */
    Pending containedAudit;
    /** Whether the contained audit's latest asking was already counted late (offline or unknown). */
    boolean containedLateCounted;

    long bandwidthAskedMs = -1;
    byte[] bandwidthNonce;
    final Deque<byte[]> countedNonces = new ArrayDeque<>();
    LastReport last;
    double linkMbps = Double.NaN;
    final List<Scoring.Test> tests = new ArrayList<>();
    final Map<Long, Double> uptimeMs = new TreeMap<>();
    long rewardSoFar;
    Scoring.EpochScore lastScore;
    /**
     * The last epoch closed for this device: no uptime is credited to it or before it again. What a
     * Kafka verifier's next holder of the device's partition goes by (the MQTT verifier's judge also
     * has one for all its devices).
     */
    long closedThrough = Long.MIN_VALUE;

    DeviceService(byte[] firstKey) {
        this.firstKey = firstKey.clone();
    }

    long failures() {
        return audits[AuditOutcome.FAILURE.ordinal()];
    }

    CBORObject toCbor() {
        CBORObject m = CBORObject.NewOrderedMap();
        m.Add("key", firstKey);
        m.Add("alpha", reputation.alpha());
        m.Add("beta", reputation.beta());
        CBORObject counts = CBORObject.NewArray();
        for (long c : audits) {
            counts.Add(c);
        }
        m.Add("audits", counts);
        m.Add("contained", contained);
        m.Add("late", lateInRow);
        m.Add("commit", commitment == null ? CBORObject.Null : commitment(commitment));
        if (pending != null) {
            m.Add("pending", pending(pending));
        }
        m.Add("next_audit", nextAuditMs);
        CBORObject ok = CBORObject.NewArray();
        for (Success x : successes) {
            ok.Add(CBORObject.NewArray().Add(commitment(x.commitment())).Add(x.atMs()));
        }
        m.Add("successes", ok);
        if (containedAudit != null) {
            m.Add("contained_audit", pending(containedAudit));
        }
        m.Add("contained_late", containedLateCounted);
        m.Add("bw_at", bandwidthAskedMs);
        if (bandwidthNonce != null) {
            m.Add("bw_nonce", bandwidthNonce);
        }
        CBORObject counted = CBORObject.NewArray();
        countedNonces.forEach(counted::Add);
        m.Add("counted", counted);
        if (last != null) {
            m.Add(
                    "last",
                    CBORObject.NewArray()
                            .Add(last.boot())
                            .Add(last.run())
                            .Add(last.upMs())
                            .Add(last.arrivalMs()));
        }
        m.Add("link", linkMbps);
        CBORObject t = CBORObject.NewArray();
        for (Scoring.Test x : tests) {
            t.Add(CBORObject.NewArray()
                    .Add(x.atMillis())
                    .Add(x.downMbps())
                    .Add(x.upMbps())
                    .Add(x.rttMillis()));
        }
        m.Add("tests", t);
        CBORObject up = CBORObject.NewArray();
        uptimeMs.forEach((e, ms) -> up.Add(CBORObject.NewArray().Add(e).Add(ms)));
        m.Add("uptime", up);
        m.Add("reward", rewardSoFar);
        if (closedThrough != Long.MIN_VALUE) {
            m.Add("closed", closedThrough);
        }
        return m;
    }

    static DeviceService fromCbor(CBORObject m) {
        DeviceService d = new DeviceService(m.get("key").GetByteString());
        d.reputation = new Reputation(m.get("alpha").AsDouble(), m.get("beta").AsDouble());
        CBORObject counts = m.get("audits");
        for (int i = 0; i < d.audits.length && i < counts.size(); i++) {
            d.audits[i] = counts.get(i).AsInt64Value();
        }
        d.contained = m.get("contained").AsBoolean();
        d.lateInRow = m.get("late").AsInt32Value();
        d.commitment = m.get("commit").isNull() ? null : commitment(m.get("commit"));
        if (m.ContainsKey("pending")) {
            d.pending = pending(m.get("pending"));
        }
        d.nextAuditMs = m.get("next_audit").AsInt64Value();
        // A state file of before "successes" (root only) credits nothing until the next audit passes.
        if (m.ContainsKey("successes")) {
            for (CBORObject x : m.get("successes").getValues()) {
                d.successes.addLast(new Success(commitment(x.get(0)), x.get(1).AsInt64Value()));
            }
        }
        if (m.ContainsKey("contained_audit")) {
            d.containedAudit = pending(m.get("contained_audit"));
        }
        d.containedLateCounted =
                m.ContainsKey("contained_late") && m.get("contained_late").AsBoolean();
        d.bandwidthAskedMs = m.get("bw_at").AsInt64Value();
        d.bandwidthNonce = m.ContainsKey("bw_nonce") ? m.get("bw_nonce").GetByteString() : null;
        for (CBORObject n : m.get("counted").getValues()) {
            d.countedNonces.addLast(n.GetByteString());
        }
        if (m.ContainsKey("last")) {
            CBORObject l = m.get("last");
            d.last = new LastReport(
                    l.get(0).AsString(),
                    l.get(1).AsInt64Value(),
                    l.get(2).AsInt64Value(),
                    l.get(3).AsInt64Value());
        }
        d.linkMbps = m.get("link").AsDouble();
        for (CBORObject t : m.get("tests").getValues()) {
            d.tests.add(new Scoring.Test(
                    t.get(0).AsInt64Value(),
                    t.get(1).AsDouble(),
                    t.get(2).AsDouble(),
                    t.get(3).AsDouble()));
        }
        for (CBORObject u : m.get("uptime").getValues()) {
            d.uptimeMs.put(u.get(0).AsInt64Value(), u.get(1).AsDouble());
        }
        d.rewardSoFar = m.get("reward").AsInt64Value();
        if (m.ContainsKey("closed")) {
            d.closedThrough = m.get("closed").AsInt64Value();
        }
        return d;
    }

    private static CBORObject pending(Pending p) {
        return CBORObject.NewArray()
                .Add(p.nonce())
                .Add(commitment(p.commitment()))
                .Add(p.leaves())
                .Add(p.issuedMs())
                .Add(p.deadlineMs());
    }

    private static Pending pending(CBORObject p) {
        return new Pending(
                p.get(0).GetByteString(),
                commitment(p.get(1)),
                p.get(2).AsInt32Value(),
                p.get(3).AsInt64Value(),
                p.get(4).AsInt64Value());
    }

    private static CBORObject commitment(PlotCommitment c) {
        return CBORObject.NewArray()
                .Add(c.params().seed())
                .Add(c.params().leaves())
                .Add(c.params().leafSize())
                .Add(c.root());
    }

    private static PlotCommitment commitment(CBORObject a) {
        return new PlotCommitment(
                new PlotParams(
                        a.get(0).GetByteString(),
                        a.get(1).AsInt64Value(),
                        a.get(2).AsInt32Value()),
                a.get(3).GetByteString());
    }
}
