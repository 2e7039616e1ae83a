package dev.prospector.hardware.board;

import java.util.Locale;
import java.util.Objects;

/**
 * An INA219 or INA226 current/voltage monitor on I2C that measures the board's supply.
 *
 * @param chip which chip
 * @param bus the I2C bus number ({@code /dev/i2c-<bus>}), 1 on a Pi's header
 * @param address the 7-bit device address, 0x40 to 0x4F
 * @param shuntOhms the shunt resistor between the sense pins, 0.1 Ω on most breakout boards
 */
public record PowerSensorConfig(Chip chip, int bus, int address, double shuntOhms) {

    /** The supported chips. */
    public enum Chip {
        INA219,
        INA226;

        public static Chip fromKey(String key) {
            String k = key.trim().toUpperCase(Locale.ROOT);
            for (Chip c : values()) {
                if (c.name().equals(k)) {
                    return c;
                }
            }
            throw new IllegalArgumentException("unknown power sensor chip '" + key.trim() + "': use ina219 or ina226");
        }
    }

    public PowerSensorConfig {
        Objects.requireNonNull(chip, "chip");
        if (bus < 0) {
            throw new IllegalArgumentException("power sensor bus must be >= 0, was " + bus);
        }
        if (address < 0x40 || address > 0x4F) {
            throw new IllegalArgumentException(
                    String.format("power sensor address 0x%02x is not an INA2xx address: use 0x40 to 0x4f", address));
        }
        if (!(shuntOhms > 0) || !Double.isFinite(shuntOhms)) {
            throw new IllegalArgumentException(
                    "power sensor shunt must be a positive resistance in ohms, was " + shuntOhms);
        }
    }

    /** The usual breakout: bus 1, address 0x40, 0.1 Ω shunt. */
    public static PowerSensorConfig of(Chip chip) {
        return new PowerSensorConfig(chip, 1, 0x40, 0.1);
    }
}
