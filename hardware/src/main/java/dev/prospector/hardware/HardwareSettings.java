package dev.prospector.hardware;

import dev.prospector.hardware.board.PowerSensorConfig;
import dev.prospector.hardware.io.ButtonConfig;
import dev.prospector.hardware.io.IoConfig;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code hardware.*} settings of the agent's config, checked at start-up: every error names
 * the key, the bad value and what to write instead. Keys and defaults are listed in
 * docs/HARDWARE.md ("Configuration").
 *
 * @param board how to open the board
 * @param io the status LED and button
 */
public record HardwareSettings(BoardConfig board, IoConfig io) {

    public static final String PREFIX = "hardware.";

    /** Every key this record reads; any other {@code hardware.*} key is a typo. */
    public static final Set<String> KEYS = Set.of(
            "hardware.board",
            "hardware.root",
            "hardware.interface",
            "hardware.read-timeout-ms",
            "hardware.emulated.seed",
            "hardware.emulated.faults",
            "hardware.power.chip",
            "hardware.power.bus",
            "hardware.power.address",
            "hardware.power.shunt-ohms",
            "hardware.led.pin",
            "hardware.led.active-high",
            "hardware.button.pin",
            "hardware.button.pressed-high");

    public HardwareSettings {
        Objects.requireNonNull(board, "board");
        Objects.requireNonNull(io, "io");
    }

    /**
     * Reads the {@code hardware.*} entries of {@code config} (other keys are ignored).
     *
     * @param dataDir the agent's data dir (storage is measured for its filesystem)
     * @param clock the clock readings are stamped with
     * @throws IllegalArgumentException naming the key, the value and the fix
     */
    public static HardwareSettings parse(Map<String, String> config, Path dataDir, Clock clock) {
        Set<String> unknown = new TreeSet<>();
        for (String key : config.keySet()) {
            if (key.startsWith(PREFIX) && !KEYS.contains(key)) {
                unknown.add(key);
            }
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("unknown setting " + String.join(", ", unknown)
                    + ": the hardware settings are " + String.join(", ", new TreeSet<>(KEYS)));
        }
        Reader r = new Reader(config);
        BoardConfig board = BoardConfig.defaults(dataDir)
                .withClock(clock)
                .withSelection(r.selection("hardware.board"))
                .withRoot(r.path("hardware.root", "/"))
                .withSeed(r.longValue("hardware.emulated.seed", 1))
                .withReadTimeout(Duration.ofMillis(
                        r.positiveLong("hardware.read-timeout-ms", BoardConfig.DEFAULT_READ_TIMEOUT.toMillis())))
                .withFaults(r.faults("hardware.emulated.faults"));
        Optional<String> iface = r.optional("hardware.interface");
        if (iface.isPresent()) {
            board = r.apply("hardware.interface", iface.get(), board::withNetworkInterface);
        }
        Optional<String> chip = r.optional("hardware.power.chip");
        if (chip.isPresent()) {
            PowerSensorConfig.Chip c = r.apply("hardware.power.chip", chip.get(), PowerSensorConfig.Chip::fromKey);
            int bus = (int) r.longValue("hardware.power.bus", 1);
            int address = (int) r.longValue("hardware.power.address", 0x40);
            double shunt = r.doubleValue("hardware.power.shunt-ohms", 0.1);
            PowerSensorConfig sensor = r.apply(
                    "hardware.power.address",
                    config.getOrDefault("hardware.power.address", "0x40"),
                    v -> new PowerSensorConfig(c, bus, address, shunt));
            board = board.withPowerSensor(sensor);
        } else {
            for (String key :
                    new String[] {"hardware.power.bus", "hardware.power.address", "hardware.power.shunt-ohms"}) {
                if (config.containsKey(key)) {
                    throw new IllegalArgumentException(key + " is set but hardware.power.chip is "
                            + "not: set hardware.power.chip to ina219 or ina226");
                }
            }
        }
        Optional<Integer> led = r.optional("hardware.led.pin").map(v -> (int) r.longValue("hardware.led.pin", 0));
        boolean ledHigh = r.bool("hardware.led.active-high", true);
        Optional<ButtonConfig> button = Optional.empty();
        if (config.containsKey("hardware.button.pin")) {
            int pin = (int) r.longValue("hardware.button.pin", 0);
            boolean high = r.bool("hardware.button.pressed-high", false);
            button = Optional.of(r.apply(
                    "hardware.button.pin",
                    String.valueOf(pin),
                    v -> new ButtonConfig(
                            pin,
                            high,
                            ButtonConfig.DEFAULT_DEBOUNCE,
                            ButtonConfig.DEFAULT_LONG_PRESS,
                            ButtonConfig.DEFAULT_CONFIRM_WINDOW)));
        }
        Optional<ButtonConfig> b = button;
        IoConfig io = r.apply(
                "hardware.led.pin", config.getOrDefault("hardware.led.pin", ""), v -> new IoConfig(led, ledHigh, b));
        return new HardwareSettings(board, io);
    }

    /** Typed reads of one config map, each failure naming its key. */
    private static final class Reader {
        private final Map<String, String> config;

        Reader(Map<String, String> config) {
            this.config = config;
        }

        Optional<String> optional(String key) {
            String v = config.get(key);
            return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
        }

        <T> T apply(String key, String value, java.util.function.Function<String, T> f) {
            try {
                return f.apply(value);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
            }
        }

        BoardSelection selection(String key) {
            String v = optional(key).orElse("auto").toLowerCase(Locale.ROOT);
            switch (v) {
                case "auto":
                    return BoardSelection.AUTO;
                case "linux":
                    return BoardSelection.LINUX;
                case "emulated":
                    return BoardSelection.EMULATED;
                default:
                    throw new IllegalArgumentException(
                            key + ": '" + v + "' is not a board: use auto, linux or emulated");
            }
        }

        Path path(String key, String fallback) {
            String v = optional(key).orElse(fallback);
            try {
                return Path.of(v);
            } catch (InvalidPathException e) {
                throw new IllegalArgumentException(key + ": '" + v + "' is not a path", e);
            }
        }

        long longValue(String key, long fallback) {
            Optional<String> v = optional(key);
            if (v.isEmpty()) {
                return fallback;
            }
            String s = v.get().toLowerCase(Locale.ROOT);
            try {
                return s.startsWith("0x") ? Long.parseLong(s.substring(2), 16) : Long.parseLong(s);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        key + ": '" + v.get() + "' is not a whole number (decimal, or hex with 0x)");
            }
        }

        long positiveLong(String key, long fallback) {
            long v = longValue(key, fallback);
            if (v <= 0) {
                throw new IllegalArgumentException(key + ": must be above 0, was " + v);
            }
            return v;
        }

        double doubleValue(String key, double fallback) {
            Optional<String> v = optional(key);
            if (v.isEmpty()) {
                return fallback;
            }
            try {
                return Double.parseDouble(v.get());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(key + ": '" + v.get() + "' is not a number");
            }
        }

        boolean bool(String key, boolean fallback) {
            Optional<String> v = optional(key);
            if (v.isEmpty()) {
                return fallback;
            }
            switch (v.get().toLowerCase(Locale.ROOT)) {
                case "true":
                case "yes":
                    return true;
                case "false":
                case "no":
                    return false;
                default:
                    throw new IllegalArgumentException(key + ": '" + v.get() + "' is not true or false");
            }
        }

        Set<Fault> faults(String key) {
            return apply(key, optional(key).orElse(""), Faults::parse);
        }
    }
}
