package dev.prospector.hardware;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A missing, empty or garbled file gives "unavailable: reason" for its measurements only: never
 * an exception, never a zero presented as a reading.
 */
class BadInputTest {

    @TempDir
    Path root;

    @TempDir
    Path dataDir;

    private Board board;

    @BeforeEach
    void copyPi4() throws IOException {
        Path from = Fixtures.root("pi-4");
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path to = root.resolve(from.relativize(p).toString());
                if (Files.isSymbolicLink(p)) {
                    Files.createSymbolicLink(to, Files.readSymbolicLink(p));
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(p, to);
                }
            }
        }
    }

    @AfterEach
    void close() {
        if (board != null) {
            board.close();
        }
    }

    private Snapshot measure() {
        board = new LinuxBoard(
                BoardConfig.defaults(dataDir).withRoot(root).withClock(MutableClock.at("2026-11-26T09:00:00Z")),
                java.util.Optional.empty());
        return board.measure();
    }

    private void write(String boardPath, String text) throws IOException {
        Files.writeString(root.resolve(boardPath.substring(1)), text);
    }

    private void delete(String boardPath) throws IOException {
        Files.delete(root.resolve(boardPath.substring(1)));
    }

    private static String reason(Snapshot s, String name) {
        Reading r = s.reading(name).orElseThrow(() -> new AssertionError("no reading " + name));
        return assertInstanceOf(Reading.Unavailable.class, r, () -> name + " is " + r)
                .reason();
    }

    private static void assertValue(Snapshot s, String name) {
        Reading r = s.reading(name).orElseThrow(() -> new AssertionError("no reading " + name));
        assertInstanceOf(Reading.Value.class, r, () -> name + " is " + r);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(
            delimiter = '|',
            value = {
                // measurement    | file                                   | content     | reason starts with
                "uptime           | /proc/uptime                           |             | missing /proc/uptime",
                "uptime           | /proc/uptime                           | ''          | empty /proc/uptime",
                "uptime           | /proc/uptime                           | abc def     | garbled /proc/uptime: 'abc def'",
                "uptime           | /proc/uptime                           | -5.0 1.0    | garbled /proc/uptime",
                "load.1m          | /proc/loadavg                          | 0.15 0.22   | garbled /proc/loadavg",
                "load.15m         | /proc/loadavg                          |             | missing /proc/loadavg",
                "memory.available | /proc/meminfo                          | MemTotal: 1 kB | no MemAvailable line in /proc/meminfo",
                "memory.total     | /proc/meminfo                          | MemTotal: lots kB | garbled /proc/meminfo",
                "temperature      | /sys/class/thermal/thermal_zone0/temp  |             | missing /sys/class/thermal/thermal_zone0/temp",
                "temperature      | /sys/class/thermal/thermal_zone0/temp  | '\n'        | empty /sys/class/thermal/thermal_zone0/temp",
                "temperature      | /sys/class/thermal/thermal_zone0/temp  | 48.3C       | garbled /sys/class/thermal/thermal_zone0/temp",
                "temperature      | /sys/class/thermal/thermal_zone0/temp  | 999999999   | garbled /sys/class/thermal/thermal_zone0/temp",
                "temperature      | /sys/class/thermal/thermal_zone0/temp  | 160000      | garbled /sys/class/thermal/thermal_zone0/temp",
                "throttle_flags   | /sys/devices/platform/soc/soc:firmware/get_throttled | zz | garbled /sys/devices/platform/soc/soc:firmware/get_throttled",
                "under_voltage    | /sys/devices/platform/soc/soc:firmware/get_throttled |    | missing /sys/devices/platform/soc/soc:firmware/get_throttled",
                "net.rx           | /sys/class/net/eth0/statistics/rx_bytes |            | missing /sys/class/net/eth0/statistics/rx_bytes",
                "net.tx           | /sys/class/net/eth0/statistics/tx_bytes | 12x        | garbled /sys/class/net/eth0/statistics/tx_bytes",
                "net.rx_errors    | /sys/class/net/eth0/statistics/rx_errors | -3        | garbled /sys/class/net/eth0/statistics/rx_errors",
                "net.link_up      | /sys/class/net/eth0/operstate          | sideways    | garbled /sys/class/net/eth0/operstate",
                "net.link_speed   | /sys/class/net/eth0/speed              | fast        | garbled /sys/class/net/eth0/speed",
                "net.rx           | /proc/net/route                        | nonsense    | garbled /proc/net/route",
                "net.tx           | /proc/net/route                        |             | missing /proc/net/route",
                "storage.read_only | /proc/mounts                          |             | missing /proc/mounts",
                "storage.kind     | /proc/mounts                           | ''          | empty /proc/mounts",
                "storage.written  | /sys/block/sda/stat                    | 1 2 3       | garbled /sys/block/sda/stat",
            })
    void aBadFileMakesItsMeasurementUnavailable(String name, String file, String content, String reason)
            throws IOException {
        if (content == null) {
            delete(file);
        } else {
            write(file, content);
        }
        Snapshot s = measure();
        assertTrue(reason(s, name).startsWith(reason), reason(s, name));
    }

    @Test
    void aBadFileSpoilsOnlyItsOwnMeasurements() throws IOException {
        write("/proc/uptime", "garbage");
        Snapshot s = measure();
        reason(s, "uptime");
        assertValue(s, "load.1m");
        assertValue(s, "temperature");
        assertValue(s, "net.rx");
        assertValue(s, "storage.free");
    }

    @Test
    void aGarbledBootIdIsNotReportedAsTheBootId() throws IOException {
        write("/proc/sys/kernel/random/boot_id", "not-a-uuid\n");
        Snapshot s = measure();
        assertEquals(java.util.Optional.empty(), s.bootId());
        assertTrue(reason(s, "boot_id").startsWith("garbled /proc/sys/kernel/random/boot_id"));
    }

    @Test
    void noDefaultRouteSaysSoAndHowToFixIt() throws IOException {
        write(
                "/proc/net/route",
                "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask" + "\t\tMTU\tWindow\tIRTT\n");
        assertTrue(reason(measure(), "net.rx").contains("set the interface"));
    }

    @Test
    void aConfiguredInterfaceThatDoesNotExistIsNamed() {
        board = new LinuxBoard(
                BoardConfig.defaults(dataDir).withRoot(root).withNetworkInterface("eth9"), java.util.Optional.empty());
        assertEquals("no interface eth9 (missing /sys/class/net/eth9)", reason(board.measure(), "net.rx"));
    }

    @Test
    void aDownLinkHasNoSpeedRatherThanZero() throws IOException {
        write("/sys/class/net/eth0/operstate", "down\n");
        write("/sys/class/net/eth0/speed", "-1\n");
        Snapshot s = measure();
        assertEquals(0.0, ((Reading.Value) s.reading("net.link_up").orElseThrow()).value());
        assertEquals("link down", reason(s, "net.link_speed"));
    }

    @Test
    void aReadOnlyRemountIsDetected() throws IOException {
        write("/proc/mounts", "/dev/sda2 / ext4 ro,noatime 0 0\n" + "proc /proc proc rw,relatime 0 0\n");
        assertEquals(
                1.0, ((Reading.Value) measure().reading("storage.read_only").orElseThrow()).value());
    }

    @Test
    void aDataDirOnTmpfsHasNoBlockDevice() throws IOException {
        write("/proc/mounts", "/dev/sda2 / ext4 rw 0 0\ntmpfs " + dataDir + " tmpfs rw 0 0\n");
        Snapshot s = measure();
        assertTrue(
                reason(s, "storage.kind").contains("not on a partition of a block device"), reason(s, "storage.kind"));
        assertValue(s, "storage.read_only");
    }

    @Test
    void aMissingThermalZoneDirectoryIsUnavailable() throws IOException {
        delete("/sys/class/thermal/thermal_zone0/temp");
        delete("/sys/class/thermal/thermal_zone0/type");
        delete("/sys/class/thermal/thermal_zone0");
        assertEquals("missing /sys/class/thermal/thermal_zone0/temp", reason(measure(), "temperature"));
    }

    @Test
    void aMissingDataDirIsMeasuredOnItsNearestExistingParent() {
        board = new LinuxBoard(
                BoardConfig.defaults(dataDir.resolve("not/yet")).withRoot(root), java.util.Optional.empty());
        Reading r = board.measure().reading("storage.free").orElseThrow();
        assertEquals("statvfs " + dataDir, r.source());
        assertInstanceOf(Reading.Value.class, r);
    }

    @Test
    void anEmptyRootGivesOnlyUnavailableReadingsAndNoException() throws IOException {
        Path empty = Files.createTempDirectory(dataDir, "empty");
        board = new LinuxBoard(BoardConfig.defaults(dataDir).withRoot(empty), java.util.Optional.empty());
        Snapshot s = board.measure();
        for (Reading r : s.readings()) {
            if (!r.name().startsWith("storage.total") && !r.name().startsWith("storage.free")) {
                assertInstanceOf(Reading.Unavailable.class, r, r::toString);
            }
        }
        assertTrue(s.readings().size() > 15);
    }

    @Test
    void withoutGetThrottledTheRpiVoltAlarmStillGivesUnderVoltage() throws IOException {
        delete("/sys/devices/platform/soc/soc:firmware/get_throttled");
        Files.createDirectories(root.resolve("sys/class/hwmon/hwmon1"));
        write("/sys/class/hwmon/hwmon1/name", "rpi_volt\n");
        write("/sys/class/hwmon/hwmon1/in0_lcrit_alarm", "1\n");
        Snapshot s = measure();
        Reading.Value uv =
                assertInstanceOf(Reading.Value.class, s.reading("under_voltage").orElseThrow());
        assertEquals(1.0, uv.value());
        assertEquals("/sys/class/hwmon/hwmon1/in0_lcrit_alarm", uv.source());
        assertTrue(reason(s, "throttled").startsWith("missing /sys/devices/platform/soc/soc:firmware"));
    }

    @Test
    void theMountClosestToTheDataDirIsTheOneMeasured() throws IOException {
        write("/proc/mounts", "/dev/sda2 / ext4 rw,noatime 0 0\n" + "/dev/sda3 " + dataDir + " ext4 ro,noatime 0 0\n");
        Snapshot s = measure();
        Reading.Value ro = assertInstanceOf(
                Reading.Value.class, s.reading("storage.read_only").orElseThrow());
        assertEquals(1.0, ro.value());
        assertEquals("/proc/mounts (" + dataDir + ")", ro.source());
        assertEquals(
                "/sys/block/sda (usb)", s.reading("storage.kind").orElseThrow().source());
    }

    @Test
    void aDiskMissingFromSysBlockIsNamed() throws IOException {
        write("/proc/mounts", "/dev/sdb1 / ext4 rw 0 0\n");
        assertEquals("missing /sys/block/sdb", reason(measure(), "storage.kind"));
    }

    @Test
    void aMountPointWithASpaceIsUnescaped() throws IOException {
        Path spaced = Files.createDirectories(dataDir.resolve("my data"));
        write("/proc/mounts", "/dev/sda2 / ext4 rw 0 0\n" + "/dev/sda3 " + dataDir + "/my\\040data ext4 ro 0 0\n");
        board = new LinuxBoard(BoardConfig.defaults(spaced).withRoot(root), java.util.Optional.empty());
        Reading r = board.measure().reading("storage.read_only").orElseThrow();
        assertEquals(1.0, assertInstanceOf(Reading.Value.class, r).value());
    }
}
