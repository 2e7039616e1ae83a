package dev.prospector.attest;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/** Checks claims against {@link PlausibilityLimits}; pure and cheap (one pass, one small map). */
final class Plausibility {
    private Plausibility() {}

    /** The first implausible thing about {@code claims}, as one sentence, or empty. */
    static Optional<String> problem(Claims claims, PlausibilityLimits limits) {
        Map<String, MeasurementClaim> byName = new HashMap<>();
        var names = new java.util.HashSet<String>();
        for (var m : claims.measurements()) {
            if (!names.add(m.name())) {
                return Optional.of("measurement " + m.name() + " appears twice");
            }
            if (m instanceof MeasurementClaim c) {
                byName.put(c.name(), c);
                var p = bound(c, limits);
                if (p.isPresent()) {
                    return p;
                }
            }
        }
        for (var c : byName.values()) {
            String name = c.name();
            int dot = name.lastIndexOf('.');
            if (dot <= 0) {
                continue;
            }
            String prefix = name.substring(0, dot);
            String leaf = name.substring(dot + 1);
            if (leaf.equals("free") || leaf.equals("used")) {
                var total = byName.get(prefix + ".total");
                if (total != null && total.unit().equals(c.unit()) && c.value() > total.value()) {
                    return Optional.of(name + " " + fmt(c.value()) + " " + c.unit() + " exceeds " + total.name() + " " + fmt(total.value()));
                }
            }
            if ((c.unit().equals("B/s") || c.unit().equals("bit/s")) && !leaf.equals("link")) {
                var link = byName.get(prefix + ".link");
                if (link != null) {
                    double rate = c.unit().equals("B/s") ? c.value() : c.value() / 8;
                    double cap = link.unit().equals("B/s") ? link.value() : link.unit().equals("bit/s") ? link.value() / 8 : Double.NaN;
                    if (rate > cap) {
                        return Optional.of(name + " " + fmt(c.value()) + " " + c.unit() + " exceeds the link speed " + link.name() + " " + fmt(link.value()) + " " + link.unit());
                    }
                }
            }
        }
        return Optional.empty();
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
            case "s": case "ms": case "1": case "Hz": case "W": case "V":
                return v < 0 ? Optional.of(c.name() + " " + fmt(v) + " " + c.unit() + " is negative") : Optional.empty();
            default:
                return Optional.empty();
        }
    }

    private static Optional<String> within(MeasurementClaim c, double min, double max) {
        if (c.value() < min || c.value() > max) {
            return Optional.of(c.name() + " " + fmt(c.value()) + " " + c.unit() + " is outside the plausible range " + fmt(min) + " to " + fmt(max));
        }
        return Optional.empty();
    }

    private static String fmt(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
