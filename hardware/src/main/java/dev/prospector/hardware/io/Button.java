package dev.prospector.hardware.io;

import com.pi4j.io.gpio.digital.DigitalInput;
import com.pi4j.io.gpio.digital.DigitalState;
import com.pi4j.io.gpio.digital.DigitalStateChangeListener;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * The board's button, debounced in software, read through Pi4J.
 *
 * <p>A level counts once it has held for the debounce time: edges arrive from Pi4J
 * ({@link #edge}), and {@link #tick()} (every {@link #TICK} from {@link #start}, or by hand in
 * tests after moving the clock) settles levels that have held long enough. A press released
 * before the long-press time is a short press (report now). A press held for the long-press time
 * asks for a factory reset of the chain state at once, while still held, so the user need not
 * guess when to let go; a second long press within the confirmation window widens it to the key.
 * The key is never reset by one press.
 */
public final class Button implements AutoCloseable {

    /** How often held presses are checked; the long press is 10 s, so 20 ms is plenty. */
    public static final Duration TICK = Duration.ofMillis(20);

    private final DigitalInput input;
    private final ButtonConfig config;
    private final Clock clock;
    private final ButtonListener listener;
    private final DigitalStateChangeListener pi4jListener;
    private final Object lock = new Object();
    // @GuardedBy("lock")
    private boolean rawPressed;
    private Instant rawSince;
    private boolean pressed;
    private Instant pressedSince;
    private boolean longFired;
    private Instant lastLongPress;
    private ScheduledFuture<?> ticking;

    public Button(DigitalInput input, ButtonConfig config, Clock clock, ButtonListener listener) {
        this.input = Objects.requireNonNull(input, "input");
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.rawSince = clock.instant();
        this.rawPressed = isPressed(stateOf(input));
        this.pressed = rawPressed;
        this.pressedSince = rawSince;
        this.longFired = rawPressed; // held at start-up (stuck or wired wrong): never a reset
        this.pi4jListener = event -> edge(isPressed(event.state()));
        input.addListener(pi4jListener);
    }

    private static DigitalState stateOf(DigitalInput input) {
        try {
            return input.state();
        } catch (RuntimeException e) {
            return DigitalState.UNKNOWN;
        }
    }

    private boolean isPressed(DigitalState state) {
        return config.pressedHigh() ? state == DigitalState.HIGH : state == DigitalState.LOW;
    }

    /** A level change of the pin, now. */
    void edge(boolean nowPressed) {
        Runnable action;
        synchronized (lock) {
            // Settle the level that held until now first: ticks may have been missed.
            action = settle(clock.instant());
            if (nowPressed != rawPressed) {
                rawPressed = nowPressed;
                rawSince = clock.instant();
            }
        }
        run(action);
    }

    /** Settles the debounced level and fires what is due. Never throws. */
    public void tick() {
        Runnable action;
        synchronized (lock) {
            action = settle(clock.instant());
        }
        run(action);
    }

    // @GuardedBy("lock")
    private Runnable settle(Instant now) {
        Runnable action = null;
        if (rawPressed != pressed && !now.isBefore(rawSince.plus(config.debounce()))) {
            pressed = rawPressed;
            if (pressed) {
                pressedSince = rawSince;
                longFired = false;
            } else if (!longFired) {
                // Released: a long press the ticks missed still counts as long.
                boolean held = !rawSince.isBefore(pressedSince.plus(config.longPress()));
                action = held ? longPress(rawSince) : listener::reportNow;
            }
        }
        if (pressed && !longFired && !now.isBefore(pressedSince.plus(config.longPress()))) {
            action = longPress(now);
        }
        return action;
    }

    private static void run(Runnable action) {
        if (action != null) {
            try {
                action.run();
            } catch (RuntimeException e) {
                Logger.error(e, "Button action failed");
            }
        }
    }

    // @GuardedBy("lock")
    private Runnable longPress(Instant at) {
        longFired = true;
        boolean confirmed = lastLongPress != null && !at.isAfter(lastLongPress.plus(config.confirmWindow()));
        lastLongPress = confirmed ? null : at;
        ButtonListener.ResetScope scope =
                confirmed ? ButtonListener.ResetScope.CHAIN_STATE_AND_KEY : ButtonListener.ResetScope.CHAIN_STATE;
        return () -> listener.factoryReset(scope);
    }

    /** Whether the button is (debounced) pressed now. */
    public boolean isPressed() {
        synchronized (lock) {
            return pressed;
        }
    }

    /** Calls {@link #tick()} every {@link #TICK} on the scheduler until closed. */
    public void start(ScheduledExecutorService scheduler) {
        synchronized (lock) {
            if (ticking == null) {
                ticking = scheduler.scheduleAtFixedRate(
                        this::tick, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
            }
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            if (ticking != null) {
                ticking.cancel(false);
                ticking = null;
            }
        }
        input.removeListener(pi4jListener);
    }
}
