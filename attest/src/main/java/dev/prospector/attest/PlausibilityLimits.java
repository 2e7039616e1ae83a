package dev.prospector.attest;

/**
 * Bounds beyond which a measurement cannot be true. Applied by unit (see docs/EVIDENCE.md):
 * {@code Cel} within [minCelsius, maxCelsius]; {@code B/s} within [0, maxLinkBytesPerSecond]
 * ({@code bit/s} within 8 times that); {@code B} within [0, maxBytes]; {@code %} within [0, 100];
 * {@code bool} 0 or 1; {@code 1}, {@code count}, {@code flags}, {@code code}, {@code level},
 * {@code Hz}, {@code V} not negative. Across measurements: {@code X.free},
 * {@code X.used} and {@code X.available} not above {@code X.total}; a {@code B/s} or
 * {@code bit/s} rate {@code X.*} not above the link speed {@code X.link_speed}. Other units
 * (including the signed {@code s}, {@code ms}, {@code A} and {@code W}: a reversed shunt reads negative) are accepted without bounds (the
 * value is always finite).
 *
 * @param minCelsius            lowest plausible board temperature
 * @param maxCelsius            highest plausible board temperature
 * @param maxLinkBytesPerSecond fastest plausible network link, in bytes per second
 * @param maxBytes              largest plausible storage size or byte counter
 */
public record PlausibilityLimits(double minCelsius, double maxCelsius, double maxLinkBytesPerSecond, double maxBytes) {
    /**
     * -60 to 150 degrees C (beyond any SoC's own shutdown limit; the board's reader reports a
     * thermal zone outside it as unavailable), 100 Gbit/s, 1 PiB.
     */
    public static final PlausibilityLimits DEFAULTS =
            new PlausibilityLimits(-60, 150, 100e9 / 8, 1024.0 * 1024 * 1024 * 1024 * 1024);

    public PlausibilityLimits {
        if (!(minCelsius < maxCelsius)) {
            throw new IllegalArgumentException(
                    "plausibility: minCelsius " + minCelsius + " must be below maxCelsius " + maxCelsius);
        }
        if (!(maxLinkBytesPerSecond > 0) || !(maxBytes > 0)) {
            throw new IllegalArgumentException("plausibility: maxLinkBytesPerSecond and maxBytes must be positive");
        }
    }
}
