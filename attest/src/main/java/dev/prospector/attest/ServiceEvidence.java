package dev.prospector.attest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A report's proof-of-service evidence (claim {@code pos}, a byte string holding a deterministic
 * CBOR map, so it nests no deeper than a rotation statement):
 *
 * <pre>
 * {"audit": {...}?, "bw": [bstr, ...]?, "plot": {...}?, "run": uint?}
 * </pre>
 *
 * <ul>
 *   <li>{@code plot}: the board's committed plot ({@link PlotCommitment}), once plotting finished.
 *   <li>{@code audit}: the answer to the storage audit of the report's {@code nonce}
 *       ({@link AuditAnswer}).
 *   <li>{@code bw}: signed receipts of measurement endpoints for the report's {@code nonce}
 *       ({@link BandwidthReceipt}), at most {@value #MAX_BANDWIDTH_RECEIPTS}.
 *   <li>{@code run}: the board's monotonic clock ({@code up}, ms since boot) when this run of the
 *       agent started: with {@code boot} and {@code up} it states the interval the agent has been up
 *       without a break.
 * </ul>
 * At least one key is present (a report with nothing to say leaves {@code pos} out).
 */
public record ServiceEvidence(
        Optional<PlotCommitment> plot, Optional<AuditAnswer> audit, List<byte[]> bandwidth, OptionalLong runStart) {
    public static final int MAX_BANDWIDTH_RECEIPTS = 8;

    public ServiceEvidence {
        bandwidth = bandwidth.stream().map(byte[]::clone).toList();
        if (bandwidth.size() > MAX_BANDWIDTH_RECEIPTS) {
            throw new IllegalArgumentException("at most " + MAX_BANDWIDTH_RECEIPTS + " bandwidth receipts");
        }
        if (bandwidth.stream().anyMatch(b -> b.length > BandwidthReceipt.MAX_BYTES)) {
            throw new IllegalArgumentException(
                    "a bandwidth receipt has at most " + BandwidthReceipt.MAX_BYTES + " bytes");
        }
        if (runStart.isPresent() && runStart.getAsLong() < 0) {
            throw new IllegalArgumentException("run must not be negative");
        }
        if (plot.isEmpty() && audit.isEmpty() && bandwidth.isEmpty() && runStart.isEmpty()) {
            throw new IllegalArgumentException("service evidence with nothing in it is left out");
        }
    }

    /** Evidence of a run that started at {@code runStartMillis} on the boot's monotonic clock. */
    public static ServiceEvidence run(long runStartMillis) {
        return new ServiceEvidence(Optional.empty(), Optional.empty(), List.of(), OptionalLong.of(runStartMillis));
    }

    public ServiceEvidence withPlot(PlotCommitment c) {
        return new ServiceEvidence(Optional.of(c), audit, bandwidth, runStart);
    }

    public ServiceEvidence withAudit(AuditAnswer a) {
        return new ServiceEvidence(plot, Optional.of(a), bandwidth, runStart);
    }

    public ServiceEvidence withBandwidth(List<byte[]> receipts) {
        return new ServiceEvidence(plot, audit, receipts, runStart);
    }

    public byte[] encode() {
        var m = Cbor.map();
        audit.ifPresent(a -> m.put("audit", a.toCbor()));
        if (!bandwidth.isEmpty()) {
            var items = new ArrayList<Cbor.Value>();
            bandwidth.forEach(b -> items.add(new Cbor.Bytes(b)));
            m.put("bw", new Cbor.Array(items));
        }
        plot.ifPresent(p -> m.put("plot", p.toCbor()));
        runStart.ifPresent(r -> m.put("run", new Cbor.Int(r)));
        return Cbor.encode(m.build());
    }

    private static final List<String> KEYS = List.of("audit", "bw", "plot", "run");

    /** Decodes the bytes of claim {@code pos}: deterministic, known keys only, bounded. */
    public static ServiceEvidence decode(byte[] bytes) throws MalformedReportException {
        var m = map(Cbor.decode(bytes), "pos", 4);
        for (var e : m.entries()) {
            if (!(e.key() instanceof Cbor.Text t) || !KEYS.contains(t.value())) {
                throw new MalformedReportException("claim pos has an unknown key " + e.key());
            }
        }
        Optional<PlotCommitment> plot = Optional.empty();
        if (m.get("plot").isPresent()) {
            plot = Optional.of(PlotCommitment.fromCbor(m.get("plot").get()));
        }
        Optional<AuditAnswer> audit = Optional.empty();
        if (m.get("audit").isPresent()) {
            audit = Optional.of(AuditAnswer.fromCbor(m.get("audit").get()));
        }
        var bw = new ArrayList<byte[]>();
        if (m.get("bw").isPresent()) {
            if (!(m.get("bw").get() instanceof Cbor.Array a)
                    || a.items().isEmpty()
                    || a.items().size() > MAX_BANDWIDTH_RECEIPTS) {
                throw new MalformedReportException(
                        "claim pos.bw is not an array of 1 to " + MAX_BANDWIDTH_RECEIPTS + " receipts");
            }
            for (Cbor.Value v : a.items()) {
                if (!(v instanceof Cbor.Bytes b) || b.value().length > BandwidthReceipt.MAX_BYTES) {
                    throw new MalformedReportException(
                            "claim pos.bw holds byte strings of at most " + BandwidthReceipt.MAX_BYTES + " bytes");
                }
                bw.add(b.value());
            }
        }
        OptionalLong run = m.get("run").isPresent() ? OptionalLong.of(uint(m, "run")) : OptionalLong.empty();
        try {
            var out = new ServiceEvidence(plot, audit, bw, run);
            if (!Arrays.equals(out.encode(), bytes)) {
                throw new MalformedReportException("claim pos is not in deterministic encoding");
            }
            return out;
        } catch (IllegalArgumentException e) {
            throw new MalformedReportException("claim pos: " + e.getMessage());
        }
    }

    // ------------------------------------------------------------ decoding helpers (this package)

    static Cbor.MapValue map(Cbor.Value v, String what, int maxEntries) throws MalformedReportException {
        if (!(v instanceof Cbor.MapValue m) || m.entries().size() > maxEntries) {
            throw new MalformedReportException(what + " is not a map of at most " + maxEntries + " entries");
        }
        return m;
    }

    static long uint(Cbor.MapValue m, String key) throws MalformedReportException {
        if (!(m.get(key).orElse(null) instanceof Cbor.Int i) || i.value() < 0) {
            throw new MalformedReportException(key + " is missing or not an unsigned integer");
        }
        return i.value();
    }

    static byte[] bytes(Cbor.MapValue m, String key, int min, int max) throws MalformedReportException {
        if (!(m.get(key).orElse(null) instanceof Cbor.Bytes b) || b.value().length < min || b.value().length > max) {
            throw new MalformedReportException(
                    key + " is missing or not a byte string of " + (min == max ? min : min + " to " + max) + " bytes");
        }
        return b.value();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ServiceEvidence s && Arrays.equals(encode(), s.encode());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(encode());
    }

    @Override
    public String toString() {
        return "ServiceEvidence[" + plot.map(PlotCommitment::toString).orElse("no plot")
                + audit.map(a -> a.error()
                                .map(e -> ", audit error " + e)
                                .orElse(", audit of " + a.openings().size() + " openings"))
                        .orElse("")
                + (bandwidth.isEmpty() ? "" : ", " + bandwidth.size() + " bandwidth receipts")
                + (runStart.isPresent() ? ", run from " + runStart.getAsLong() + " ms" : "") + "]";
    }
}
