package dev.prospector.hardware.io;

/** Checks of GPIO numbers given in config. */
final class GpioPins {
    /** The highest BCM GPIO number on a Pi's 40-pin header. */
    static final int MAX_HEADER_GPIO = 27;

    private GpioPins() {}

    static void check(String what, int pin) {
        if (pin < 0 || pin > MAX_HEADER_GPIO) {
            throw new IllegalArgumentException(what + " GPIO " + pin
                    + " is not on the header: use a BCM GPIO number from 0 to " + MAX_HEADER_GPIO);
        }
    }
}
