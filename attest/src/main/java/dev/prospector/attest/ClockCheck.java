package dev.prospector.attest;

import java.time.Duration;
import java.time.Instant;

/**
 * The device's clock sanity: its offset from the verifier's clock (the {@code at} of a signed
 * receipt, the clock that judges a report's {@code iat}) and whether that offset would make the
 * verifier call its reports stale. Pure; the agent shows the result in status and logs.
 *
 * @param offset how far the device's clock is ahead of the reference (negative: behind)
 * @param window the verifier's clock-skew window
 */
public record ClockCheck(Duration offset, Duration window) {

    /**
     * The offset from one exchange: the device sent at {@code sentAt} and received at
     * {@code receivedAt} (its own clock) a reference time {@code reference} taken in between; the
     * midpoint estimates when the reference was read, so the error is at most half the round trip.
     */
    public static ClockCheck of(Instant sentAt, Instant receivedAt, Instant reference, Duration window) {
        Instant midpoint = sentAt.plus(Duration.between(sentAt, receivedAt).dividedBy(2));
        return new ClockCheck(Duration.between(reference, midpoint), window);
    }

    /** From a receipt for a report sent at {@code sentAt} and whose receipt came at {@code receivedAt}. */
    public static ClockCheck of(Receipt receipt, Instant sentAt, Instant receivedAt) {
        return of(sentAt, receivedAt, receipt.at(), receipt.window());
    }

    /** True if the verifier would refuse reports as stale because of this clock. */
    public boolean outsideWindow() {
        return offset.abs().compareTo(window) > 0;
    }

    /** One line for status and logs, measured against the verifier (from a receipt). */
    public String describe() {
        long ms = offset.toMillis();
        String off = Math.abs(ms) + " ms " + (ms >= 0 ? "ahead of " : "behind ") + "the verifier";
        return outsideWindow()
                ? "clock is " + off + ", beyond the verifier's window of " + window.toSeconds()
                        + " s: reports will be rejected as stale; fix the time (enable NTP: timedatectl set-ntp true)"
                : "clock is " + off + " (window " + window.toSeconds() + " s)";
    }
}
