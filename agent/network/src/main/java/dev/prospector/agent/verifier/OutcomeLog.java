package dev.prospector.agent.verifier;

import dev.prospector.attest.Appraisal;
import java.time.Duration;
import java.util.concurrent.atomic.LongAdder;
import org.tinylog.Logger;

/**
 * A verifier's log lines for the reports it decided, the same for the MQTT and the Kafka verifier:
 * each acceptance at info and each refusal of a report from a device it tracks as a warning, at
 * most {@link #LINES} of a kind in {@link #WINDOW} ({@link LogBudget}: the next line let through
 * says how many were held back); a refusal from a device it does not track (anyone can publish
 * such junk) at the 1st, 10th, 100th, ... only; a duplicate at debug. A line held back is logged
 * at debug, so {@code --debug} shows every decision. Thread-safe.
 */
public final class OutcomeLog {
    /**
     * Lines logged at most in {@link #WINDOW}, for accepted reports and, apart, for reports refused
     * from tracked devices. 20 in 10 s lets every line of a fleet of up to 120 boards at one report
     * a minute through.
     */
    public static final int LINES = 20;

    /** The window of {@link #LINES}. */
    public static final Duration WINDOW = Duration.ofSeconds(10);

    private final LogBudget acceptedLines;
    private final LogBudget refusedLines;
    private final LongAdder untrackedRefused = new LongAdder();

    public OutcomeLog() {
        this(new LogBudget(LINES, WINDOW), new LogBudget(LINES, WINDOW));
    }

    OutcomeLog(LogBudget acceptedLines, LogBudget refusedLines) {
        this.acceptedLines = acceptedLines;
        this.refusedLines = refusedLines;
    }

    /**
     * Logs {@code outcome} of a report that came for {@code topicDevice} (its topic's device, or
     * its record's key); {@code tracked}: the verifier holds chain state for that device.
     */
    public void log(String topicDevice, Appraisal outcome, boolean tracked) {
        if (outcome instanceof Appraisal.Accepted a) {
            if (a.duplicate()) {
                Logger.debug("{}", a);
                return;
            }
            long held = Logger.isInfoEnabled() ? acceptedLines.take() : LogBudget.HOLD;
            if (held == LogBudget.HOLD) {
                Logger.debug("{}", a);
            } else if (held == 0) {
                Logger.info("{}", a);
            } else {
                Logger.info("{}; {}", a, heldBack(held, "accepted", acceptedLines));
            }
            return;
        }
        if (!tracked) {
            untrackedRefused.increment();
            long n = untrackedRefused.sum();
            if (n == 1 || isPowerOfTen(n)) {
                Logger.warn(
                        "{} report(s) so far refused from devices this verifier does not track; latest: {} (topic device {})",
                        n,
                        outcome,
                        topicDevice);
            } else {
                Logger.debug("{} (topic device {})", outcome, topicDevice);
            }
            return;
        }
        long held = Logger.isWarnEnabled() ? refusedLines.take() : LogBudget.HOLD;
        if (held == LogBudget.HOLD) {
            Logger.debug("{} (topic device {})", outcome, topicDevice);
        } else if (held == 0) {
            Logger.warn("{} (topic device {})", outcome, topicDevice);
        } else {
            Logger.warn("{} (topic device {}); {}", outcome, topicDevice, heldBack(held, "refused", refusedLines));
        }
    }

    /** What a line says of the {@code held} lines of its kind held back before it. */
    static String heldBack(long held, String kind, LogBudget budget) {
        return held + " more " + kind + " since the previous such line, not logged one by one (over " + budget.lines()
                + " in " + budget.windowSeconds() + " s; --debug logs each)";
    }

    /** Whether {@code n} is 1, 10, 100, ...: when a count worth saying once in a while is said. */
    public static boolean isPowerOfTen(long n) {
        while (n >= 10 && n % 10 == 0) {
            n /= 10;
        }
        return n == 1;
    }
}
