package dev.prospector.agent.transport;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Reconnect delays: exponential from {@code initial} up to {@code max}, with "equal jitter" (half
 * the step fixed, half random). A fleet that loses its broker at once thus spreads its returns
 * over half the step instead of arriving together, and no device retries faster than half the
 * step.
 */
public record Backoff(Duration initial, Duration max) {

    public Backoff {
        if (initial.isNegative() || initial.isZero()) {
            throw new IllegalArgumentException("initial reconnect delay must be positive");
        }
        if (max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("maximum reconnect delay must be at least the initial one");
        }
    }

    /** 1 s doubling to 60 s. */
    public static Backoff standard() {
        return new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60));
    }

    /** The delay before attempt number {@code attempt} (0 for the first retry). */
    public Duration delay(int attempt, RandomGenerator random) {
        long step = initial.toMillis() << Math.min(attempt, 20);
        step = Math.min(step, max.toMillis());
        long half = step / 2;
        return Duration.ofMillis(half + (half == 0 ? 0 : random.nextLong(half + 1)));
    }
}
