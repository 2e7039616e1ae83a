package dev.prospector.agent.pos;

/**
 * Keeps a writer at or below a rate: after each chunk the writer calls {@link #pace}, which sleeps
 * until the bytes so far are due at the rate. A writer that fell far behind (the board was busy)
 * does not get to burst: the schedule restarts from now when it lags more than a second.
 */
public final class Throttle {
    /** The time source and the sleep, injected so that tests can count the waits without waiting. */
    public interface Ticker {
        long nanoTime();

        void sleep(long nanos) throws InterruptedException;

        /** The system's monotonic clock and {@link Thread#sleep}. */
        static Ticker system() {
            return new Ticker() {
                @Override
                public long nanoTime() {
                    return System.nanoTime();
                }

                @Override
                public void sleep(long nanos) throws InterruptedException {
                    Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
                }
            };
        }
    }

    private static final long SECOND = 1_000_000_000L;

    private final long bytesPerSecond;
    private final Ticker ticker;
    private long start;
    private long bytes;
    private long waits;
    private long waitedNanos;

    /** @param bytesPerSecond the most bytes a second; 0 or less: unlimited */
    public Throttle(long bytesPerSecond, Ticker ticker) {
        this.bytesPerSecond = bytesPerSecond;
        this.ticker = ticker;
        this.start = ticker.nanoTime();
    }

    /** Accounts for {@code n} more bytes and sleeps until they are due. */
    public void pace(long n) throws InterruptedException {
        if (bytesPerSecond <= 0) {
            return;
        }
        bytes += n;
        long due = start + (long) (bytes * (double) SECOND / bytesPerSecond);
        long now = ticker.nanoTime();
        if (due > now) {
            waits++;
            waitedNanos += due - now;
            ticker.sleep(due - now);
        } else if (now - due > SECOND) {
            start = now;
            bytes = 0;
        }
    }

    /** How often {@link #pace} slept. */
    public long waits() {
        return waits;
    }

    /** How long {@link #pace} slept in all. */
    public long waitedNanos() {
        return waitedNanos;
    }
}
