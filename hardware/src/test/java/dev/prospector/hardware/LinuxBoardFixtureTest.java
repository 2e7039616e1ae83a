package dev.prospector.hardware;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every reader on every committed board tree. */
class LinuxBoardFixtureTest {

    @TempDir
    Path dataDir;

    private Board board;

    private Snapshot measure(String fixture) {
        MutableClock clock = MutableClock.at("2026-11-26T09:00:00Z");
        board = Boards.open(BoardConfig.defaults(dataDir)
                .withSelection(BoardSelection.LINUX)
                .withRoot(Fixtures.root(fixture))
                .withClock(clock));
        return board.measure();
    }

    @AfterEach
    void close() {
        if (board != null) {
            board.close();
        }
    }

    private static Reading.Value value(Snapshot s, String name) {
        Reading r = s.reading(name).orElseThrow(() -> new AssertionError("no reading " + name));
        return assertInstanceOf(Reading.Value.class, r, () -> name + " is " + r);
    }

    private static Reading.Unavailable unavailable(Snapshot s, String name) {
        Reading r = s.reading(name).orElseThrow(() -> new AssertionError("no reading " + name));
        return assertInstanceOf(Reading.Unavailable.class, r, () -> name + " is " + r);
    }

    @ParameterizedTest
    @CsvSource({
        "pi-zero-2-w, 86431.27, 5f0c7b2e-8d41-4a6e-9b3c-2e7f1d0a9c48",
        "pi-4, 1209684.91, a1d2c3e4-5b6f-4a7b-8c9d-0e1f2a3b4c5d",
        "pi-5, 352801.04, 0c9b8a76-5d4e-4f32-a1b0-c9d8e7f6a5b4",
    })
    void uptimeAndBootIdComeFromProc(String fixture, double uptime, String bootId) {
        Snapshot s = measure(fixture);
        Reading.Value up = value(s, "uptime");
        assertEquals(uptime, up.value());
        assertEquals("s", up.unit());
        assertEquals("/proc/uptime", up.source());
        assertEquals(Optional.of(bootId), s.bootId());
    }

    @ParameterizedTest
    @CsvSource({
        "pi-zero-2-w, 0.42, 0.31, 0.27",
        "pi-4, 0.15, 0.22, 0.19",
        "pi-5, 1.07, 0.88, 0.61",
    })
    void loadAverageComesFromProcLoadavg(String fixture, double m1, double m5, double m15) {
        Snapshot s = measure(fixture);
        assertEquals(m1, value(s, "load.1m").value());
        assertEquals(m5, value(s, "load.5m").value());
        assertEquals(m15, value(s, "load.15m").value());
    }

    @ParameterizedTest
    @CsvSource({
        "pi-zero-2-w, 427872, 301256",
        "pi-4, 3885428, 3401932",
        "pi-5, 8245104, 7398112",
    })
    void memoryComesFromMeminfoInBytes(String fixture, long totalKb, long availableKb) {
        Snapshot s = measure(fixture);
        assertEquals(totalKb * 1024.0, value(s, "memory.total").value());
        assertEquals(availableKb * 1024.0, value(s, "memory.available").value());
        assertEquals("B", value(s, "memory.available").unit());
    }

    @ParameterizedTest
    @CsvSource({
        "pi-zero-2-w, 41.856",
        "pi-4, 48.312",
        "pi-5, 52.65",
    })
    void temperatureComesFromTheCpuThermalZoneInCelsius(String fixture, double celsius) {
        Reading.Value t = value(measure(fixture), "temperature");
        assertEquals(celsius, t.value());
        assertEquals("Cel", t.unit());
        assertEquals("/sys/class/thermal/thermal_zone0/temp", t.source());
    }

    @ParameterizedTest
    @CsvSource({
        // board, flags, under-voltage now, throttled now, under-voltage occurred, throttled occurred
        "pi-zero-2-w, 327680, 0, 0, 1, 1, /sys/devices/platform/soc/soc:firmware/get_throttled",
        "pi-4, 0, 0, 0, 0, 0, /sys/devices/platform/soc/soc:firmware/get_throttled",
        "pi-5, 917504, 0, 0, 0, 1, " + "/sys/devices/platform/soc@107c000000/soc@107c000000:firmware/get_throttled",
    })
    void throttlingFlagsComeFromTheFirmware(
            String fixture,
            double flags,
            double uvNow,
            double throttledNow,
            double uvOccurred,
            double throttledOccurred,
            String source) {
        Snapshot s = measure(fixture);
        assertEquals(flags, value(s, "throttle_flags").value());
        assertEquals(source, value(s, "throttle_flags").source());
        assertEquals(uvNow, value(s, "under_voltage").value());
        assertEquals(throttledNow, value(s, "throttled").value());
        assertEquals(uvOccurred, value(s, "under_voltage_occurred").value());
        assertEquals(throttledOccurred, value(s, "throttled_occurred").value());
    }

    @ParameterizedTest
    @CsvSource({
        "pi-zero-2-w, wlan0, 1843992731, 264180554, 0, 0",
        "pi-4, eth0, 98765432109, 12345678901, 3, 0",
        "pi-5, eth0, 5123456789012, 734512334455, 0, 2",
    })
    void networkCountersAreThoseOfTheDefaultRouteInterface(
            String fixture, String iface, double rx, double tx, double rxErrors, double txErrors) {
        Snapshot s = measure(fixture);
        assertEquals(rx, value(s, "net.rx").value());
        assertEquals(
                "/sys/class/net/" + iface + "/statistics/rx_bytes",
                value(s, "net.rx").source());
        assertEquals(tx, value(s, "net.tx").value());
        assertEquals(rxErrors, value(s, "net.rx_errors").value());
        assertEquals(txErrors, value(s, "net.tx_errors").value());
        assertEquals(1.0, value(s, "net.link_up").value());
    }

    @ParameterizedTest
    @CsvSource({"pi-4", "pi-5"})
    void ethernetLinkSpeedIsInBitsPerSecond(String fixture) {
        Reading.Value speed = value(measure(fixture), "net.link_speed");
        assertEquals(1e9, speed.value());
        assertEquals("bit/s", speed.unit());
    }

    @ParameterizedTest
    @CsvSource({"pi-zero-2-w"})
    void wifiLinkSpeedIsUnavailableNotZero(String fixture) {
        Reading.Unavailable speed = unavailable(measure(fixture), "net.link_speed");
        assertTrue(speed.reason().contains("/sys/class/net/wlan0/speed"), speed.reason());
    }

    @ParameterizedTest
    @CsvSource({
        "pi-zero-2-w, 1, /sys/block/mmcblk0 (sd), 3124560",
        "pi-4, 3, /sys/block/sda (usb), 18443992",
        "pi-5, 4, /sys/block/nvme0n1 (nvme), 61344008",
    })
    void storageDeviceKindAndWritesComeFromSysBlock(String fixture, double kind, String source, long sectorsWritten) {
        Snapshot s = measure(fixture);
        assertEquals(kind, value(s, "storage.kind").value());
        assertEquals(source, value(s, "storage.kind").source());
        assertEquals(sectorsWritten * 512.0, value(s, "storage.written").value());
        assertEquals(0.0, value(s, "storage.read_only").value());
        assertTrue(unavailable(s, "storage.life_used").reason().contains("reports no wear"));
    }

    @ParameterizedTest
    @CsvSource({"pi-zero-2-w", "pi-4", "pi-5"})
    void storageSpaceIsThatOfTheRealDataDirFilesystem(String fixture) throws Exception {
        Snapshot s = measure(fixture);
        var store = java.nio.file.Files.getFileStore(dataDir);
        assertEquals((double) store.getTotalSpace(), value(s, "storage.total").value());
        double free = value(s, "storage.free").value();
        assertTrue(free > 0 && free <= store.getTotalSpace(), "free " + free);
        assertEquals("B", value(s, "storage.free").unit());
    }

    @ParameterizedTest
    @CsvSource({"pi-4, 3600", "pi-5, -120"})
    void aWallClockStepBeyondTheUptimeShowsAsClockStep(String fixture, long stepSeconds) {
        MutableClock clock = MutableClock.at("2026-11-26T09:00:00Z");
        board = Boards.open(BoardConfig.defaults(dataDir)
                .withSelection(BoardSelection.LINUX)
                .withRoot(Fixtures.root(fixture))
                .withClock(clock));
        assertEquals(0.0, value(board.measure(), "clock.step").value());
        clock.advance(java.time.Duration.ofSeconds(stepSeconds)); // the fixture's uptime stands still
        assertEquals((double) stepSeconds, value(board.measure(), "clock.step").value());
    }

    @ParameterizedTest
    @CsvSource({"pi-zero-2-w", "pi-4", "pi-5", "cm4"})
    void everyReadingIsAValueOrNamesItsReason(String fixture) {
        for (Reading r : measure(fixture).readings()) {
            if (r instanceof Reading.Unavailable u) {
                assertTrue(!u.reason().isBlank(), r::toString);
            }
        }
    }
}
