package dev.prospector.attest;

/**
 * One entry of a report's {@code meas} claim: a value with unit and source, or the reason a
 * measurement could not be taken (so that "not measured" is never confused with zero).
 */
public sealed interface Measurement permits MeasurementClaim, UnavailableMeasurement {
    /** Dotted name, for example {@code storage.free} or {@code net.rx}; see docs/EVIDENCE.md. */
    String name();
}
