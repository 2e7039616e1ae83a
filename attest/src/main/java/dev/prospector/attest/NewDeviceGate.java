package dev.prospector.attest;

import com.google.errorprone.annotations.concurrent.GuardedBy;

/**
 * The appraiser's cap on devices seen for the first time: a token bucket holding up to
 * {@code perMinute} admissions, refilled at {@code perMinute} a minute. So a verifier that starts
 * among a fleet it has never seen admits a burst of {@code perMinute} boards at once, then that
 * rate; strangers publishing self-signed reports grow its state no faster. Thread-safe (one lock,
 * taken only on a device's first sight).
 */
final class NewDeviceGate {
    private static final double MILLIS_PER_MINUTE = 60_000.0;

    private final int perMinute;

    @GuardedBy("this")
    private double tokens;

    @GuardedBy("this")
    private long lastMillis;

    /** @param perMinute admissions per minute; 0 admits every device */
    NewDeviceGate(int perMinute, long nowMillis) {
        this.perMinute = perMinute;
        this.tokens = perMinute;
        this.lastMillis = nowMillis;
    }

    /** Takes one admission if there is one; at {@code nowMillis} by the appraiser's clock. */
    synchronized boolean tryAdmit(long nowMillis) {
        if (perMinute == 0) {
            return true;
        }
        if (nowMillis > lastMillis) {
            tokens = Math.min(perMinute, tokens + (nowMillis - lastMillis) * perMinute / MILLIS_PER_MINUTE);
            lastMillis = nowMillis;
        }
        if (tokens < 1) {
            return false;
        }
        tokens -= 1;
        return true;
    }
}
