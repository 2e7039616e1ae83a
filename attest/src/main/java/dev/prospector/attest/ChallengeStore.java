package dev.prospector.attest;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Challenge nonces the verifier issued, per device. A report's {@code nonce} is valid when this
 * verifier issued it to that device no longer than the time-to-live ago. Thread-safe; keeps the
 * last {@link #KEPT_PER_DEVICE} nonces per device.
 */
public final class ChallengeStore {
    /** Nonce length in bytes. */
    public static final int NONCE_BYTES = 16;
    /** Nonces remembered per device: {@link Limits#CHALLENGES_KEPT_PER_DEVICE}. */
    public static final int KEPT_PER_DEVICE = Limits.CHALLENGES_KEPT_PER_DEVICE;

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Clock clock;
    private final Duration ttl;
    private final ConcurrentHashMap<DeviceId, ArrayDeque<Issued>> issued = new ConcurrentHashMap<>();

    private record Issued(byte[] nonce, Instant at) {}

    /** The outcome of checking a nonce. */
    public enum Status { VALID, EXPIRED, UNKNOWN }

    public ChallengeStore(Clock clock, Duration ttl) {
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("challenge time-to-live must be positive, not " + ttl);
        }
        this.clock = clock;
        this.ttl = ttl;
    }

    /** Issues a fresh nonce to {@code device}; publish it on {@code challenge/<device>}. */
    public byte[] issue(DeviceId device) {
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        var q = issued.computeIfAbsent(device, d -> new ArrayDeque<>());
        synchronized (q) {
            if (q.size() == KEPT_PER_DEVICE) {
                q.removeFirst();
            }
            q.addLast(new Issued(nonce, clock.instant()));
        }
        return nonce.clone();
    }

    /** Whether {@code nonce} was issued to {@code device} and has not expired. */
    public Status check(DeviceId device, byte[] nonce) {
        var q = issued.get(device);
        if (q == null) {
            return Status.UNKNOWN;
        }
        synchronized (q) {
            for (var i : q) {
                if (Arrays.equals(i.nonce(), nonce)) {
                    return Duration.between(i.at(), clock.instant()).compareTo(ttl) <= 0 ? Status.VALID : Status.EXPIRED;
                }
            }
        }
        return Status.UNKNOWN;
    }

    public Duration ttl() {
        return ttl;
    }
}
