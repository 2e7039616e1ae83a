package dev.prospector.hardware;

import dev.prospector.hardware.board.PowerSensorConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * How to open a board. Validates itself; every message names the setting and the fix.
 *
 * @param selection which implementation to open
 * @param root the filesystem root the /proc and /sys readers read under ({@code /} on a board, a
 *     fixture tree in tests)
 * @param dataDir the agent's data dir; storage readings are for its filesystem
 * @param clock the wall clock that stamps readings (and drives the emulated board)
 * @param seed the emulated board's seed: the same seed and clock give the same values
 * @param networkInterface the interface to measure; empty means the default route's
 * @param readTimeout the longest one group of reads may take before it is reported unavailable
 * @param powerSensor the INA219/INA226 on I2C, when one is fitted
 * @param faults the emulated board's faults that are on at start
 */
public record BoardConfig(
        BoardSelection selection,
        Path root,
        Path dataDir,
        Clock clock,
        long seed,
        Optional<String> networkInterface,
        Duration readTimeout,
        Optional<PowerSensorConfig> powerSensor,
        Set<Fault> faults) {

    /** The default bound on a group of reads: generous for a Pi Zero, short for a report cycle. */
    public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofMillis(500);

    public BoardConfig {
        Objects.requireNonNull(selection, "selection");
        Objects.requireNonNull(root, "root");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(networkInterface, "networkInterface");
        Objects.requireNonNull(readTimeout, "readTimeout");
        Objects.requireNonNull(powerSensor, "powerSensor");
        faults = faults.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(faults));
        if (readTimeout.isNegative() || readTimeout.isZero()) {
            throw new IllegalArgumentException("hardware read timeout must be positive, was " + readTimeout);
        }
        networkInterface.ifPresent(name -> {
            if (name.isBlank() || name.contains("/") || name.equals(".") || name.equals("..")) {
                throw new IllegalArgumentException("network interface '" + name
                        + "' is not an interface name: use e.g. eth0 or wlan0, or leave it unset");
            }
        });
    }

    /** Auto-selected board on {@code /}, the system clock, seed 1, no power sensor, no faults. */
    public static BoardConfig defaults(Path dataDir) {
        return new BoardConfig(
                BoardSelection.AUTO,
                Path.of("/"),
                dataDir,
                Clock.systemUTC(),
                1L,
                Optional.empty(),
                DEFAULT_READ_TIMEOUT,
                Optional.empty(),
                Set.of());
    }

    public BoardConfig withSelection(BoardSelection value) {
        return new BoardConfig(value, root, dataDir, clock, seed, networkInterface, readTimeout, powerSensor, faults);
    }

    public BoardConfig withRoot(Path value) {
        return new BoardConfig(
                selection, value, dataDir, clock, seed, networkInterface, readTimeout, powerSensor, faults);
    }

    public BoardConfig withDataDir(Path value) {
        return new BoardConfig(selection, root, value, clock, seed, networkInterface, readTimeout, powerSensor, faults);
    }

    public BoardConfig withClock(Clock value) {
        return new BoardConfig(
                selection, root, dataDir, value, seed, networkInterface, readTimeout, powerSensor, faults);
    }

    public BoardConfig withSeed(long value) {
        return new BoardConfig(
                selection, root, dataDir, clock, value, networkInterface, readTimeout, powerSensor, faults);
    }

    public BoardConfig withNetworkInterface(String value) {
        return new BoardConfig(
                selection, root, dataDir, clock, seed, Optional.of(value), readTimeout, powerSensor, faults);
    }

    public BoardConfig withReadTimeout(Duration value) {
        return new BoardConfig(selection, root, dataDir, clock, seed, networkInterface, value, powerSensor, faults);
    }

    public BoardConfig withPowerSensor(PowerSensorConfig value) {
        return new BoardConfig(
                selection, root, dataDir, clock, seed, networkInterface, readTimeout, Optional.of(value), faults);
    }

    public BoardConfig withFaults(Set<Fault> value) {
        return new BoardConfig(
                selection, root, dataDir, clock, seed, networkInterface, readTimeout, powerSensor, value);
    }
}
