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
        for (int i = 0; i < ms.size(); i++) {
            var m = ms.get(i);
            for (int j = 0; j < i; j++) {
                if (ms.get(j).name().equals(m.name())) {
                    return Optional.of("measurement " + m.name() + " appears twice");
                }
            }
            if (m instanceof MeasurementClaim c) {
                var p = bound(c, limits);
                if (p.isPresent()) {
                    return p;
                }
            }
        }
        for (var m : ms) {
            if (!(m instanceof MeasurementClaim c)) {
                continue;
            }
            String name = c.name();
            int dot = name.lastIndexOf('.');
            if (dot <= 0) {
                continue;
            }
            if (name.endsWith(".free") || name.endsWith(".used")) {
                var total = sibling(ms, name, dot, "total");
                if (total != null && total.unit().equals(c.unit()) && c.value() > total.value()) {
                    return Optional.of(name + " " + fmt(c.value()) + " " + c.unit() + " exceeds " + total.name() + " " + fmt(total.value()));
                }
            }
            if ((c.unit().equals("B/s") || c.unit().equals("bit/s")) && !name.endsWith(".link")) {
                var link = sibling(ms, name, dot, "link");
                if (link != null) {
                    double rate = c.unit().equals("B/s") ? c.value() : c.value() / 8;
                    double cap = link.unit().equals("B/s") ? link.value() : link.unit().equals("bit/s") ? link.value() / 8 : Double.NaN;
                    if (rate > cap) {
                        return Optional.of(name + " " + fmt(c.value()) + " " + c.unit() + " exceeds the link speed " + link.name() + " "
                                + fmt(link.value()) + " " + link.unit());
                    }
                }
            }
        }
        return Optional.empty();
    }

    /** The measurement named {@code <prefix of name up to dot>.<leaf>}, if any. */
    private static MeasurementClaim sibling(List<Measurement> ms, String name, int dot, String leaf) {
        for (var m : ms) {
            String n = m.name();
            if (m instanceof MeasurementClaim c && n.length() == dot + 1 + leaf.length() && n.regionMatches(0, name, 0, dot + 1)
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
