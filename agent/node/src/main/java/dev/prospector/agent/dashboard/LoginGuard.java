package dev.prospector.agent.dashboard;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;

/**
 * Rate limits password checks, per client address and overall: after {@link #FREE_FAILURES}
 * wrong passwords from an address it must wait {@link #FIRST_LOCK}, doubled per further failure up
 * to {@link #MAX_LOCK}; a success clears its record. Only one Argon2 check runs at a time (each
 * costs 7 MiB and tens of milliseconds on a Pi): a second one meanwhile is turned away, not queued,
 * so a flood of logins costs one core and no memory growth. Addresses tracked are bounded (the
 * oldest forgotten first).
 */
final class LoginGuard {
    static final int FREE_FAILURES = 3;
    static final Duration FIRST_LOCK = Duration.ofSeconds(30);
    static final Duration MAX_LOCK = Duration.ofMinutes(15);
    static final int MAX_ADDRESSES = 1024;

    private final Clock clock;
    private final Semaphore checking = new Semaphore(1);

    @GuardedBy("this")
    private final Map<String, Attempts> records = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Attempts> eldest) {
            return size() > MAX_ADDRESSES;
        }
    };

    private static final class Attempts {
        int failures;
        Instant lockedUntil = Instant.MIN;
    }

    LoginGuard(Clock clock) {
        this.clock = clock;
    }

    /** How long {@code address} must still wait before its next attempt; empty: it may try now. */
    synchronized Optional<Duration> wait(String address) {
        Attempts r = records.get(address);
        if (r == null) {
            return Optional.empty();
        }
        Duration left = Duration.between(clock.instant(), r.lockedUntil);
        return left.isNegative() || left.isZero() ? Optional.empty() : Optional.of(left);
    }

    /** Takes the one checking slot; false when another check runs (answer 429). */
    boolean startCheck() {
        return checking.tryAcquire();
    }

    void endCheck() {
        checking.release();
    }

    synchronized void failed(String address) {
        Attempts r = records.computeIfAbsent(address, a -> new Attempts());
        r.failures++;
        if (r.failures > FREE_FAILURES) {
            Duration lock = FIRST_LOCK;
            for (int i = FREE_FAILURES + 1; i < r.failures && lock.compareTo(MAX_LOCK) < 0; i++) {
                lock = lock.multipliedBy(2);
            }
            r.lockedUntil = clock.instant().plus(lock.compareTo(MAX_LOCK) > 0 ? MAX_LOCK : lock);
        }
    }

    synchronized void succeeded(String address) {
        records.remove(address);
    }
}
