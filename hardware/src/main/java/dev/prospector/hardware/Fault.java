package dev.prospector.hardware;

import java.util.Locale;

/**
 * A fault the emulated board can be told to show. Config and the command line name them in
 * kebab case ({@code link-down}, {@code disk-full}, ...), see {@link #key()}.
 */
public enum Fault {
    /** The network link is down: {@code net.link_up} 0, counters stop, speed unavailable. */
    LINK_DOWN,
    /** The data dir's filesystem is full: {@code storage.free} 0. */
    DISK_FULL,
    /** The data dir's filesystem was remounted read-only: {@code storage.read_only} 1. */
    READ_ONLY_FS,
    /** The supply sags: {@code under_voltage} 1, flags bits 0 and 16, {@code supply.voltage} low. */
    UNDER_VOLTAGE,
    /** The SoC is hot and throttled: {@code temperature} above 80 °C, {@code throttled} 1. */
    THERMAL_THROTTLING,
    /** The wall clock jumps ahead of the monotonic clock: {@code clock.step} shows the jump. */
    CLOCK_JUMP,
    /** The I2C power sensor does not answer: {@code supply.*} unavailable (sensor missing). */
    I2C_SENSOR_MISSING,
    /** The I2C power sensor answers with errors: {@code supply.*} unavailable (read error). */
    I2C_SENSOR_ERROR,
    /** The I2C power sensor hangs: {@code supply.*} unavailable after the read timeout. */
    SLOW_SENSOR;

    /** The name used in config and on the command line, e.g. {@code link-down}. */
    public String key() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /**
     * The fault named {@code key} (kebab or enum case, any letter case).
     *
     * @throws IllegalArgumentException naming the unknown fault and the known ones
     */
    public static Fault fromKey(String key) {
        String normal = key.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (Fault f : values()) {
            if (f.name().equals(normal)) {
                return f;
            }
        }
        StringBuilder known = new StringBuilder();
        for (Fault f : values()) {
            known.append(known.length() == 0 ? "" : ", ").append(f.key());
        }
        throw new IllegalArgumentException("unknown fault '" + key.trim() + "': use one of " + known);
    }
}
