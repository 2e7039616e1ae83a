package dev.prospector.attest;

/**
 * A measured value. {@code unit} is a SenML-style unit ({@code B}, {@code B/s}, {@code Cel},
 * {@code s}, {@code %}, ...; see docs/EVIDENCE.md); {@code source} names what produced it (for
 * example {@code /proc/net/dev} or {@code emulated}).
 */
public record MeasurementClaim(String name, double value, String unit, String source) implements Measurement {
    public MeasurementClaim {
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException("measurement " + name + " is not a finite number: " + value);
        }
        Claims.checkText("measurement name", name, false);
        Claims.checkText("measurement unit", unit, true);
        Claims.checkText("measurement source", source, true);
    }
}
