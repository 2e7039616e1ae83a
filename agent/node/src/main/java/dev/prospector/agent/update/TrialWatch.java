package dev.prospector.agent.update;

import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.tinylog.Logger;

/**
 * Watches a change on trial: every {@link #TICK_MS} it asks the {@link HealthCheck}; the first
 * healthy answer before the deadline runs {@code onHealthy}, the deadline passing first runs
 * {@code onExpired}. Exactly one of them runs, once.
 */
public final class TrialWatch {
    /** How often health is looked at. */
    static final long TICK_MS = 250;

    private final AtomicBoolean ended = new AtomicBoolean();
    private volatile ScheduledFuture<?> task;

    private TrialWatch() {}

    /** What the watch decided at one look. */
    enum Verdict {
        HEALTHY,
        WAITING,
        EXPIRED
    }

    /** The decision at {@code now}: healthy wins over a deadline reached in the same look. */
    static Verdict verdict(boolean healthy, Instant now, Instant deadline) {
        if (healthy) {
            return Verdict.HEALTHY;
        }
        return now.isBefore(deadline) ? Verdict.WAITING : Verdict.EXPIRED;
    }

    public static TrialWatch start(
            ScheduledExecutorService timer,
            Clock clock,
            Trial trial,
            HealthCheck health,
            Runnable onHealthy,
            Runnable onExpired) {
        TrialWatch w = new TrialWatch();
        w.task = timer.scheduleWithFixedDelay(
                () -> {
                    if (w.ended.get()) {
                        return;
                    }
                    Verdict v = verdict(health.healthy(), clock.instant(), trial.deadline());
                    if (v != Verdict.WAITING && w.ended.compareAndSet(false, true)) {
                        try {
                            (v == Verdict.HEALTHY ? onHealthy : onExpired).run();
                        } catch (RuntimeException e) {
                            Logger.error("ending the trial of {} failed: {}", trial.change(), e.toString());
                        } finally {
                            ScheduledFuture<?> t = w.task;
                            if (t != null) {
                                t.cancel(false);
                            }
                        }
                    }
                },
                0,
                TICK_MS,
                TimeUnit.MILLISECONDS);
        return w;
    }

    public boolean ended() {
        return ended.get();
    }

    public void cancel() {
        ended.set(true);
        ScheduledFuture<?> t = task;
        if (t != null) {
            t.cancel(false);
        }
    }
}
