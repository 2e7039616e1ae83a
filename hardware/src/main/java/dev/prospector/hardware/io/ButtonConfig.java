package dev.prospector.hardware.io;

import java.time.Duration;
import java.util.Objects;

/**
 * How the button behaves.
 *
 * @param pin the BCM GPIO number the button is on
 * @param pressedHigh true if the pin reads high while pressed (button to 3.3 V, pull-down);
 *     false for the usual button to ground with a pull-up
 * @param debounce how long a level must hold before it counts (contact bounce is shorter)
 * @param longPress how long a press must be held to ask for a factory reset
 * @param confirmWindow how long after a long press a second one widens the reset to the key
 */
public record ButtonConfig(
        int pin, boolean pressedHigh, Duration debounce, Duration longPress, Duration confirmWindow) {

    public static final Duration DEFAULT_DEBOUNCE = Duration.ofMillis(50);
    public static final Duration DEFAULT_LONG_PRESS = Duration.ofSeconds(10);
    public static final Duration DEFAULT_CONFIRM_WINDOW = Duration.ofSeconds(30);

    public ButtonConfig {
        Objects.requireNonNull(debounce, "debounce");
        Objects.requireNonNull(longPress, "longPress");
        Objects.requireNonNull(confirmWindow, "confirmWindow");
        GpioPins.check("button", pin);
        if (debounce.isNegative() || longPress.compareTo(debounce) <= 0) {
            throw new IllegalArgumentException(
                    "button long press (" + longPress + ") must be longer than its debounce (" + debounce + ")");
        }
    }

    /** A button to ground on {@code pin} with the default timings. */
    public static ButtonConfig of(int pin) {
        return new ButtonConfig(pin, false, DEFAULT_DEBOUNCE, DEFAULT_LONG_PRESS, DEFAULT_CONFIRM_WINDOW);
    }
}
