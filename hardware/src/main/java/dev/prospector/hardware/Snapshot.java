package dev.prospector.hardware;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One full round of measurements.
 *
 * @param time when the round started, by the board's clock
 * @param bootId the kernel's boot id (changes on every boot), empty when it could not be read
 * @param readings every measurement of the round, in a stable order
 */
public record Snapshot(Instant time, Optional<String> bootId, List<Reading> readings) {

    public Snapshot {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(bootId, "bootId");
        readings = List.copyOf(readings);
    }

    /** The reading with this name, if the round has one. */
    public Optional<Reading> reading(String name) {
        for (Reading r : readings) {
            if (r.name().equals(name)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    /** The value of the reading with this name, empty if absent or unavailable. */
    public Optional<Double> value(String name) {
        return reading(name).filter(Reading.Value.class::isInstance).map(r -> ((Reading.Value) r).value());
    }
}
