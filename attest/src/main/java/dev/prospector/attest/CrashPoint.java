package dev.prospector.attest;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A test hook that ends the process, as {@code kill -9} would, at a named step of making a report
 * (crash tests run the agent in a child JVM with {@code -Dprospector.test.halt-at=STEP} and
 * optionally {@code -Dprospector.test.halt-after=N}, the N-th time the step is reached, 1 by
 * default). {@link Runtime#halt} runs no shutdown hook and flushes nothing, so what is on disk is
 * what the kernel has at that instant. Without the property every call is a comparison with null.
 */
public final class CrashPoint {
    /** Exit status of a process halted here: tells the test that the halt landed at its step. */
    public static final int EXIT_STATUS = 86;

    private static final String STEP = System.getProperty("prospector.test.halt-at");
    private static final long AFTER = Long.getLong("prospector.test.halt-after", 1);
    private static final AtomicLong REACHED = new AtomicLong();

    private CrashPoint() {}

    /** Halts the process if it was started to halt at {@code step} and this is the chosen time it is reached. */
    public static void reach(String step) {
        if (STEP != null && STEP.equals(step) && REACHED.incrementAndGet() == AFTER) {
            System.err.println("halting at " + step + " (test hook)");
            System.err.flush();
            Runtime.getRuntime().halt(EXIT_STATUS);
        }
    }
}
