package dev.prospector.hardware;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Each fault of the emulated board, switched at run time, shows in the next measurement. */
class EmulatedFaultsTest {

    /** Generous, so a loaded CI machine never times out a read the test does not slow down. */
    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    /** Short, for the slow-sensor tests that wait for it. */
    private static final Duration SHORT_TIMEOUT = Duration.ofMillis(150);

    private final MutableClock clock = MutableClock.at("2026-11-26T09:00:00Z");
    private EmulatedBoard board = open(TIMEOUT);

    private EmulatedBoard open(Duration timeout) {
        return new EmulatedBoard(BoardConfig.defaults(Path.of("/var/lib/prospector"))
                .withSelection(BoardSelection.EMULATED)
                .withClock(clock)
                .withSeed(7)
                .withReadTimeout(timeout));
    }

    /** A board with the short timeout, past its (longer) first round. */
    private void useShortTimeout() {
        board.close();
        board = open(SHORT_TIMEOUT);
        board.measure();
    }

    @AfterEach
    void close() {
        board.close();
    }

    /** Measures once with the faults off, then switches {@code fault} on and measures again. */
    private Snapshot withFault(Fault fault) {
        board.measure();
        clock.advance(Duration.ofSeconds(30));
        board.faults().on(fault);
        return board.measure();
    }

    private static double value(Snapshot s, String name) {
        Reading r = s.reading(name).orElseThrow(() -> new AssertionError("no reading " + name));
        return assertInstanceOf(Reading.Value.class, r, () -> name + " is " + r).value();
    }

    private static String reason(Snapshot s, String name) {
        Reading r = s.reading(name).orElseThrow(() -> new AssertionError("no reading " + name));
        return assertInstanceOf(Reading.Unavailable.class, r, () -> name + " is " + r)
                .reason();
    }

    @Test
    void linkDownShowsTheLinkDownAndFreezesTheCounters() {
        Snapshot before = board.measure();
        board.faults().on(Fault.LINK_DOWN);
        clock.advance(Duration.ofMinutes(5));
        Snapshot down = board.measure();
        assertEquals(0, value(down, "net.link_up"));
        assertEquals("link down", reason(down, "net.link_speed"));
        assertEquals(value(before, "net.rx"), value(down, "net.rx"));
        assertEquals(value(before, "net.tx"), value(down, "net.tx"));
    }

    @Test
    void countersResumeWhenTheLinkComesBack() {
        board.faults().on(Fault.LINK_DOWN);
        Snapshot down = board.measure();
        board.faults().off(Fault.LINK_DOWN);
        clock.advance(Duration.ofMinutes(1));
        Snapshot up = board.measure();
        assertEquals(1, value(up, "net.link_up"));
        assertTrue(value(up, "net.rx") > value(down, "net.rx"));
    }

    @Test
    void diskFullShowsNoFreeSpace() {
        Snapshot s = withFault(Fault.DISK_FULL);
        assertEquals(0, value(s, "storage.free"));
        assertTrue(value(s, "storage.total") > 0);
    }

    @Test
    void readOnlyFilesystemShowsAsReadOnly() {
        assertEquals(1, value(withFault(Fault.READ_ONLY_FS), "storage.read_only"));
    }

    @Test
    void underVoltageSetsTheFirmwareFlagsAndLowersTheSupply() {
        Snapshot s = withFault(Fault.UNDER_VOLTAGE);
        assertEquals(1, value(s, "under_voltage"));
        assertEquals(1, value(s, "under_voltage_occurred"));
        assertEquals(0x50005, (long) value(s, "throttle_flags") & 0x50005);
        assertTrue(value(s, "supply.voltage") < 4.7, "supply " + value(s, "supply.voltage"));
    }

    @Test
    void underVoltageStaysInTheOccurredFlagAfterItEnds() {
        withFault(Fault.UNDER_VOLTAGE);
        board.faults().off(Fault.UNDER_VOLTAGE);
        Snapshot after = board.measure();
        assertEquals(0, value(after, "under_voltage"));
        assertEquals(1, value(after, "under_voltage_occurred"));
    }

    @Test
    void thermalThrottlingShowsAHotThrottledSoc() {
        Snapshot s = withFault(Fault.THERMAL_THROTTLING);
        assertTrue(value(s, "temperature") >= 80, "temperature " + value(s, "temperature"));
        assertEquals(1, value(s, "throttled"));
        assertEquals(1, value(s, "throttled_occurred"));
    }

    @Test
    void clockJumpMovesTheWallClockButNotTheUptime() {
        Snapshot before = board.measure();
        board.faults().jumpClock(Duration.ofHours(2));
        clock.advance(Duration.ofSeconds(10));
        Snapshot after = board.measure();
        assertEquals(7210, Duration.between(before.time(), after.time()).toSeconds());
        assertEquals(10, value(after, "uptime") - value(before, "uptime"), 1e-6);
        assertEquals(7200, value(after, "clock.step"));
        assertEquals(0, value(before, "clock.step"));
    }

    @Test
    void missingI2cSensorMakesTheSupplyReadingsUnavailable() {
        Snapshot s = withFault(Fault.I2C_SENSOR_MISSING);
        for (String name : List.of("supply.voltage", "supply.current", "supply.power")) {
            assertTrue(reason(s, name).contains("sensor missing"), reason(s, name));
        }
    }

    @Test
    void erroringI2cSensorMakesTheSupplyReadingsUnavailable() {
        Snapshot s = withFault(Fault.I2C_SENSOR_ERROR);
        assertTrue(reason(s, "supply.voltage").contains("Remote I/O error"), reason(s, "supply.voltage"));
    }

    @Test
    void slowSensorTimesOutWithoutStallingTheRound() {
        useShortTimeout();
        board.faults().on(Fault.SLOW_SENSOR);
        long start = System.nanoTime();
        Snapshot s = board.measure();
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertTrue(took.compareTo(Duration.ofSeconds(2)) < 0, "measure took " + took);
        assertEquals("timed out after 150 ms", reason(s, "supply.voltage"));
        assertTrue(value(s, "uptime") > 0, "the other readings are still taken");
    }

    @Test
    void sensorReadsAgainOnceTheSlowSensorRecovers() {
        useShortTimeout();
        board.faults().on(Fault.SLOW_SENSOR);
        board.measure();
        board.faults().off(Fault.SLOW_SENSOR);
        Awaitility.await()
                .atMost(Duration.ofSeconds(5))
                .until(() -> board.measure().reading("supply.voltage").orElseThrow() instanceof Reading.Value);
    }

    @Test
    void everyFaultAtOnceNeitherThrowsNorStalls() {
        useShortTimeout();
        board.faults().jumpClock(Duration.ofMinutes(-30));
        for (Fault f : Fault.values()) {
            board.faults().on(f);
        }
        long start = System.nanoTime();
        Snapshot s = board.measure();
        assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(2)) < 0);
        assertEquals(-1800, value(s, "clock.step"));
        assertEquals(0, value(s, "storage.free"));
    }

    @Test
    void faultsGivenInConfigAreOnFromTheStart() {
        EmulatedBoard b = new EmulatedBoard(BoardConfig.defaults(Path.of("/tmp"))
                .withClock(clock)
                .withFaults(EnumSet.of(Fault.DISK_FULL, Fault.LINK_DOWN)));
        try {
            assertEquals(
                    EnumSet.of(Fault.DISK_FULL, Fault.LINK_DOWN), b.faults().active());
            assertEquals(0, value(b.measure(), "storage.free"));
        } finally {
            b.close();
        }
    }

    @Test
    void faultKeysParseFromConfigText() {
        assertEquals(
                Set.of(Fault.LINK_DOWN, Fault.SLOW_SENSOR, Fault.I2C_SENSOR_MISSING),
                Faults.parse(" link-down,SLOW_SENSOR , i2c-sensor-missing"));
        assertEquals(Set.of(), Faults.parse(""));
    }

    @Test
    void switchedOffFaultsNoLongerShow() {
        withFault(Fault.DISK_FULL);
        board.faults().clear();
        assertTrue(value(board.measure(), "storage.free") > 0);
        assertEquals(Instant.parse("2026-11-26T09:00:30Z"), board.measure().time());
    }
}
