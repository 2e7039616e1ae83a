package dev.prospector.hardware.io;

import com.pi4j.io.gpio.digital.DigitalOutput;
import com.pi4j.io.gpio.digital.DigitalState;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * The status LED on a GPIO, driven through Pi4J. It shows a base pattern (starting, connected,
 * error) and, for a while, an overlay (reporting, identify) that falls back to the base.
 *
 * <p>Time comes from the injected clock and the pin is only written in {@link #tick()}, which
 * the owner calls every {@link #TICK} (see {@link #start}); tests call it directly after moving
 * the clock. The pin is written only when its state changes.
 */
public final class StatusLed implements AutoCloseable {

    /** How often the LED is updated: a quarter of the shortest step (the 50 ms strobe) would be
     * ideal, but 25 ms is plenty for the eye and cheap on a Pi Zero. */
    public static final Duration TICK = Duration.ofMillis(25);

    private final DigitalOutput pin;
    private final Clock clock;
    private final boolean activeHigh;
    private final Object lock = new Object();
    // @GuardedBy("lock")
    private LedPattern base = LedPattern.OFF;
    private Instant baseSince;
    private LedPattern overlay;
    private Instant overlaySince;
    private Instant overlayUntil;
    private Boolean lit;
    private ScheduledFuture<?> ticking;

    /**
     * @param pin the LED's output
     * @param clock the time the patterns follow
     * @param activeHigh true if the pin drives the LED's anode (high = lit), false if it sinks
     */
    public StatusLed(DigitalOutput pin, Clock clock, boolean activeHigh) {
        this.pin = Objects.requireNonNull(pin, "pin");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.activeHigh = activeHigh;
        this.baseSince = clock.instant();
    }

    /** Shows {@code pattern} from now on (after any overlay still running). */
    public void show(LedPattern pattern) {
        synchronized (lock) {
            if (pattern != base) {
                base = Objects.requireNonNull(pattern, "pattern");
                baseSince = clock.instant();
            }
        }
        tick();
    }

    /** Shows {@code pattern} for {@code duration}, then the base pattern again. */
    public void showFor(LedPattern pattern, Duration duration) {
        synchronized (lock) {
            overlay = Objects.requireNonNull(pattern, "pattern");
            overlaySince = clock.instant();
            overlayUntil = overlaySince.plus(duration);
        }
        tick();
    }

    /** The pattern showing now. */
    public LedPattern pattern() {
        synchronized (lock) {
            return current(clock.instant());
        }
    }

    /** Sets the pin to what the pattern says for now. Never throws (a pin error is logged). */
    public void tick() {
        synchronized (lock) {
            Instant now = clock.instant();
            LedPattern p = current(now);
            Instant since = p == overlay ? overlaySince : baseSince;
            boolean on = p.isOnAt(Duration.between(since, now).toMillis());
            if (lit == null || lit != on) {
                try {
                    pin.state(on == activeHigh ? DigitalState.HIGH : DigitalState.LOW);
                    lit = on;
                } catch (RuntimeException e) {
                    Logger.warn(e, "Cannot set the status LED");
                }
            }
        }
    }

    private LedPattern current(Instant now) {
        if (overlay != null && now.isBefore(overlayUntil)) {
            return overlay;
        }
        overlay = null;
        return base;
    }

    /** Calls {@link #tick()} every {@link #TICK} on the scheduler until closed. */
    public void start(ScheduledExecutorService scheduler) {
        synchronized (lock) {
            if (ticking == null) {
                ticking = scheduler.scheduleAtFixedRate(this::tick, 0, TICK.toMillis(), TimeUnit.MILLISECONDS);
            }
        }
    }

    /** Stops ticking and turns the LED off. */
    @Override
    public void close() {
        synchronized (lock) {
            if (ticking != null) {
                ticking.cancel(false);
                ticking = null;
            }
            base = LedPattern.OFF;
            overlay = null;
            lit = null;
        }
        tick();
    }
}
