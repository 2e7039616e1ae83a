package dev.prospector.hardware;

import java.time.Instant;
import java.util.Objects;

/**
 * One measurement of the board: a value in a base unit, or the reason it could not be taken.
 * A reading that failed is never presented as a zero; it is {@link Unavailable} with a reason a
 * person can act on.
 */
public sealed interface Reading permits Reading.Value, Reading.Unavailable {

    /** The measurement's name, one of those listed in docs/HARDWARE.md (e.g. {@code uptime}). */
    String name();

    /** Where the reading came from: a file path on the board, a sensor, or {@code emulated}. */
    String source();

    /** When it was read, by the board's clock. */
    Instant time();

    /** A measured value in a base unit (seconds, bytes, °C, V, A, ...). */
    record Value(String name, double value, String unit, String source, Instant time) implements Reading {
        public Value {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(unit, "unit");
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(time, "time");
            if (!Double.isFinite(value)) {
                throw new IllegalArgumentException(name + ": value must be finite, was " + value);
            }
        }
    }

    /** A measurement that could not be taken, with the reason (e.g. "missing /proc/uptime"). */
    record Unavailable(String name, String reason, String source, Instant time) implements Reading {
        public Unavailable {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(time, "time");
        }
    }
}
