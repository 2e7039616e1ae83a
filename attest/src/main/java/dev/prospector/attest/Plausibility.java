package dev.prospector.attest;

import java.util.List;
import java.util.Optional;

/** Checks claims against {@link PlausibilityLimits}; pure, cheap, allocation-free when all is well. */
final class Plausibility {
    private Plausibility() {}

    /** The first implausible thing about {@code claims}, as one sentence, or empty. */
    static Optional<String> problem(Claims claims, PlausibilityLimits limits) {
        // Allocation-free on the accepted path: this runs once per appraisal.
        List<Measurement> ms = claims.measurements();
        int n = ms.size();
        long seen0 = 0;
        long seen1 = 0;
        long seen2 = 0;
        long seen3 = 0; // 256 bits: which hash buckets the names so far fall in
        for (int i = 0; i < n; i++) {
            var m = ms.get(i);
            String name = m.name();
            int hash = name.hashCode(); // cached: decoded names repeat (see Cbor.RecentTexts)
            int bucket = (hash ^ (hash >>> 8) ^ (hash >>> 16)) & 255;
            long bit = 1L << (bucket & 63);
            int word = bucket >>> 6;
            long seen = word == 0 ? seen0 : word == 1 ? seen1 : word == 2 ? seen2 : seen3;
            if ((seen & bit) != 0) {
                // Only a name whose bucket is taken can be a repeat: compare it with the earlier ones.
                for (int j = 0; j < i; j++) {
                    if (ms.get(j).name().equals(name)) {
                        return Optional.of("measurement " + name + " appears twice");
                    }
                }
            }
            switch (word) {
                case 0 -> seen0 |= bit;
                case 1 -> seen1 |= bit;
                case 2 -> seen2 |= bit;
                default -> seen3 |= bit;
            }
            if (m instanceof MeasurementClaim c) {
                var p = bound(c, limits);
                if (p.isPresent()) {
                    return p;
                }
            }
        }
        for (int i = 0; i < n; i++) {
            if (!(ms.get(i) instanceof MeasurementClaim c)) {
                continue;
            }
            String name = c.name();
            char last = name.isEmpty() ? ' ' : name.charAt(name.length() - 1);
            String unit = c.unit();
            boolean rate = unit.equals("B/s") || unit.equals("bit/s");
            if (last != 'e' && last != 'd' && !rate) {
                continue; // neither X.free, X.available, X.used nor a rate: nothing to relate
            }
            int dot = name.lastIndexOf('.');
            if (dot <= 0) {
                continue;
            }
            if (name.endsWith(".free") || name.endsWith(".used") || name.endsWith(".available")) {
                var total = sibling(ms, name, dot, "total");
                if (total != null && total.unit().equals(c.unit()) && c.value() > total.value()) {
                    return Optional.of(name + " " + fmt(c.value()) + " " + c.unit() + " exceeds " + total.name() + " "
                            + fmt(total.value()));
                }
            }
            if (rate && !name.endsWith(LINK_SUFFIX)) {
                var link = sibling(ms, name, dot, LINK);
                if (link != null) {
                    double bytesPerSecond = unit.equals("B/s") ? c.value() : c.value() / 8;
                    double cap = link.unit().equals("B/s")
                            ? link.value()
                            : link.unit().equals("bit/s") ? link.value() / 8 : Double.NaN;
                    if (bytesPerSecond > cap) {
                        return Optional.of(name + " " + fmt(c.value()) + " " + c.unit() + " exceeds the link speed "
                                + link.name() + " " + fmt(link.value()) + " " + link.unit());
                    }
                }
            }
        }
        return Optional.empty();
    }

    /** Leaf name of the link speed that bounds the rates of the measurements beside it. */
    static final String LINK = "link_speed";

    private static final String LINK_SUFFIX = "." + LINK;

    /** The measurement named {@code <prefix of name up to dot>.<leaf>}, if any. */
    private static MeasurementClaim sibling(List<Measurement> ms, String name, int dot, String leaf) {
        for (var m : ms) {
            String n = m.name();
            if (m instanceof MeasurementClaim c
                    && n.length() == dot + 1 + leaf.length()
                    && n.regionMatches(0, name, 0, dot + 1)
                    && n.endsWith(leaf)) {
                return c;
            }
        }
        return null;
    }

    private static Optional<String> bound(MeasurementClaim c, PlausibilityLimits l) {
        double v = c.value();
        switch (c.unit()) {
            case "Cel":
                return within(c, l.minCelsius(), l.maxCelsius());
            case "B/s":
                return within(c, 0, l.maxLinkBytesPerSecond());
            case "bit/s":
                return within(c, 0, l.maxLinkBytesPerSecond() * 8);
            case "B":
                return within(c, 0, l.maxBytes());
            case "%":
                return within(c, 0, 100);
            case "bool":
                return v == 0 || v == 1
                        ? Optional.empty()
                        : Optional.of(c.name() + " " + fmt(v) + " bool is neither 0 nor 1");
            case "1":
            case "count":
            case "flags":
            case "code":
            case "level":
            case "Hz":
            case "V":
                return v < 0
                        ? Optional.of(c.name() + " " + fmt(v) + " " + c.unit() + " is negative")
                        : Optional.empty();
            default:
                return Optional.empty();
        }
    }

    private static Optional<String> within(MeasurementClaim c, double min, double max) {
        if (c.value() < min || c.value() > max) {
            return Optional.of(c.name() + " " + fmt(c.value()) + " " + c.unit() + " is outside the plausible range "
                    + fmt(min) + " to " + fmt(max));
        }
        return Optional.empty();
    }

    private static String fmt(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
