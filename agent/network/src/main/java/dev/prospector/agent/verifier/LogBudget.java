package dev.prospector.agent.verifier;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * How many lines of one kind a verifier logs, at most: {@code lines} in each {@code window}. The
 * lines it holds back are counted, and the next line it lets through carries the count.
 *
 * <p>Why: a verifier logs a line per accepted report, and per report refused from a device it
 * tracks. A fleet's verifier at a few hundred reports a second already passes journald's default
 * rate limit (10,000 lines in 30 s per service), past which journald drops lines whichever they are,
 * warnings included; and anyone who can publish on the broker could fill the log with refusals of
 * junk sent on a genuine board's topic. One board's lines, or a small fleet's, all get through.
 *
 * <p>Thread-safe: the appraisal workers share one budget per kind (a short lock a line).
 */
final class LogBudget {
    /** Returned by {@link #take} for a line to hold back. */
    static final long HOLD = -1;

    private final int lines;
    private final long windowNanos;
    private final LongSupplier nanoTime;
    private long windowStart;
    private int used;
    private long held;

    /** At most {@code lines} lines in each {@code window}, on {@code nanoTime}'s clock. */
    LogBudget(int lines, Duration window, LongSupplier nanoTime) {
        if (lines < 1 || window.isNegative() || window.isZero()) {
            throw new IllegalArgumentException("a log budget needs at least one line in a positive window");
        }
        this.lines = lines;
        this.windowNanos = window.toNanos();
        this.nanoTime = nanoTime;
        this.windowStart = nanoTime.getAsLong();
    }

    /** At most {@code lines} lines in each {@code window}. */
    LogBudget(int lines, Duration window) {
        this(lines, window, System::nanoTime);
    }

    /**
     * Asks to log one line: {@link #HOLD} when this window's lines are used up (the line is counted),
     * otherwise how many lines were held back since the last line let through (0 mostly), which the
     * line should say.
     */
    synchronized long take() {
        long now = nanoTime.getAsLong();
        if (now - windowStart >= windowNanos) {
            windowStart = now;
            used = 0;
        }
        if (used >= lines) {
            held++;
            return HOLD;
        }
        used++;
        long before = held;
        held = 0;
        return before;
    }

    /** Lines per window, for the lines that say how many were held back. */
    int lines() {
        return lines;
    }

    /** The window, in whole seconds (at least 1), for the same. */
    long windowSeconds() {
        return Math.max(1, Duration.ofNanos(windowNanos).toSeconds());
    }
}
