package dev.prospector.hardware.io;

import java.util.Objects;
import java.util.Optional;

/**
 * The board's status LED and button, when fitted.
 *
 * @param ledPin the BCM GPIO number of the status LED
 * @param ledActiveHigh true if the pin drives the LED (high = lit), false if it sinks it
 * @param button the button, with its pin and timings
 */
public record IoConfig(Optional<Integer> ledPin, boolean ledActiveHigh, Optional<ButtonConfig> button) {

    public IoConfig {
        Objects.requireNonNull(ledPin, "ledPin");
        Objects.requireNonNull(button, "button");
        ledPin.ifPresent(pin -> GpioPins.check("status LED", pin));
        if (ledPin.isPresent()
                && button.isPresent()
                && ledPin.get() == button.get().pin()) {
            throw new IllegalArgumentException(
                    "status LED and button are both on GPIO " + ledPin.get() + ": give them different pins");
        }
    }

    /** Neither LED nor button. */
    public static IoConfig none() {
        return new IoConfig(Optional.empty(), true, Optional.empty());
    }

    /** An LED (high = lit) and a button to ground with the default timings. */
    public static IoConfig of(int ledPin, int buttonPin) {
        return new IoConfig(Optional.of(ledPin), true, Optional.of(ButtonConfig.of(buttonPin)));
    }
}
