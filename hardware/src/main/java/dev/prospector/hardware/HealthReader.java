package dev.prospector.hardware;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * SoC temperature (/sys/class/thermal) and the Raspberry Pi firmware's throttling and
 * under-voltage flags ({@code get_throttled} in sysfs). Which thermal zone and which firmware
 * file to read is decided once, when the reader is made.
 */
final class HealthReader {

    static final List<String> NAMES = List.of(
            "temperature",
            "throttle_flags",
            "under_voltage",
            "throttled",
            "under_voltage_occurred",
            "throttled_occurred");
    private static final List<String> THROTTLE_NAMES = NAMES.subList(1, NAMES.size());

    /** Where the Pi's firmware driver puts the file (Pi 1 to 4 and Zero; the Pi 5 differs). */
    static final String GET_THROTTLED = "/sys/devices/platform/soc/soc:firmware/get_throttled";

    /** Thermal zone types that measure the SoC itself, best first. */
    private static final List<String> SOC_ZONE_TYPES =
            List.of("cpu-thermal", "cpu_thermal", "soc-thermal", "x86_pkg_temp", "acpitz");

    /** Bits of get_throttled: lower half is now, upper half "has occurred since boot". */
    static final int UNDER_VOLTAGE = 1;

    static final int THROTTLING_NOW = 0x2 | 0x4 | 0x8; // freq capped, throttled, soft temp limit
    static final int UNDER_VOLTAGE_OCCURRED = 1 << 16;
    static final int THROTTLING_OCCURRED = 0xE << 16;

    private final BoardFiles files;
    private final String thermalZone;
    private final String throttledPath;
    private final Optional<String> undervoltageAlarm;

    HealthReader(BoardFiles files) {
        this.files = files;
        this.thermalZone = thermalZone(files);
        this.throttledPath = throttledPath(files);
        this.undervoltageAlarm = undervoltageAlarm(files);
    }

    void read(Readings out) {
        temperature(out);
        throttling(out);
    }

    private void temperature(Readings out) {
        String path = thermalZone + "/temp";
        try {
            long milli = files.longValue(path);
            // The kernel prints millidegrees; anything beyond -60..150 °C is not a SoC reading (every
            // SoC shuts down well below 150; verifiers refuse a report claiming more as implausible).
            if (milli < -60_000 || milli > 150_000) {
                throw Unreadable.garbled(path, Long.toString(milli));
            }
            out.value("temperature", milli / 1000.0, "Cel", path);
        } catch (Unreadable e) {
            out.unavailable("temperature", e.reason(), path);
        }
    }

    private void throttling(Readings out) {
        String path = throttledPath;
        long flags;
        try {
            String line = files.line(path);
            try {
                flags = Long.parseLong(line.startsWith("0x") ? line.substring(2) : line, 16);
            } catch (NumberFormatException e) {
                throw Unreadable.garbled(path, line);
            }
            if (flags < 0 || flags > 0xFFFF_FFFFL) {
                throw Unreadable.garbled(path, line);
            }
        } catch (Unreadable e) {
            if (!files.exists(path) && undervoltageAlarm.isPresent()) {
                alarmOnly(out, e.reason());
                return;
            }
            String reason = files.exists(path)
                    ? e.reason()
                    : e.reason() + " (only the Raspberry Pi firmware reports throttling)";
            out.unavailable(THROTTLE_NAMES, reason, path);
            return;
        }
        out.value("throttle_flags", flags, "flags", path);
        out.value("under_voltage", (flags & UNDER_VOLTAGE) != 0 ? 1 : 0, "bool", path);
        out.value("throttled", (flags & THROTTLING_NOW) != 0 ? 1 : 0, "bool", path);
        out.value("under_voltage_occurred", (flags & UNDER_VOLTAGE_OCCURRED) != 0 ? 1 : 0, "bool", path);
        out.value("throttled_occurred", (flags & THROTTLING_OCCURRED) != 0 ? 1 : 0, "bool", path);
    }

    /**
     * Kernels without the firmware's get_throttled file still have the Pi's {@code rpi_volt}
     * hwmon device, whose {@code in0_lcrit_alarm} is the under-voltage flag now.
     */
    private void alarmOnly(Readings out, String throttledReason) {
        String path = undervoltageAlarm.orElseThrow();
        try {
            long alarm = files.longValue(path);
            if (alarm != 0 && alarm != 1) {
                throw Unreadable.garbled(path, Long.toString(alarm));
            }
            out.unavailable("throttle_flags", throttledReason, throttledPath);
            out.value("under_voltage", alarm, "bool", path);
            out.unavailable(
                    List.of("throttled", "under_voltage_occurred", "throttled_occurred"),
                    throttledReason,
                    throttledPath);
        } catch (Unreadable e) {
            out.unavailable(THROTTLE_NAMES, e.reason(), path);
        }
    }

    /** The rpi_volt hwmon device's under-voltage alarm file, if the board has one. */
    static Optional<String> undervoltageAlarm(BoardFiles files) {
        List<String> found = new ArrayList<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(files.resolve("/sys/class/hwmon"), "hwmon*")) {
            for (Path p : dir) {
                String hwmon = "/sys/class/hwmon/" + p.getFileName();
                try {
                    if (files.line(hwmon + "/name").equals("rpi_volt") && files.exists(hwmon + "/in0_lcrit_alarm")) {
                        found.add(hwmon + "/in0_lcrit_alarm");
                    }
                } catch (Unreadable ignored) {
                    // another hwmon device without a name
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        found.sort(null);
        return found.stream().findFirst();
    }

    /** The SoC's thermal zone directory (board path); thermal_zone0 when none says it is. */
    static String thermalZone(BoardFiles files) {
        List<String> zones = new ArrayList<>();
        try (DirectoryStream<Path> dir =
                Files.newDirectoryStream(files.resolve("/sys/class/thermal"), "thermal_zone*")) {
            for (Path p : dir) {
                zones.add("/sys/class/thermal/" + p.getFileName());
            }
        } catch (IOException e) {
            return "/sys/class/thermal/thermal_zone0";
        }
        zones.sort(null);
        for (String wanted : SOC_ZONE_TYPES) {
            for (String zone : zones) {
                try {
                    if (files.line(zone + "/type").equals(wanted)) {
                        return zone;
                    }
                } catch (Unreadable ignored) {
                    // a zone without a type is not the one we look for
                }
            }
        }
        return zones.isEmpty() ? "/sys/class/thermal/thermal_zone0" : zones.get(0);
    }

    /**
     * The firmware's get_throttled file. Its parent is the firmware node, whose name follows the
     * SoC's device tree: {@code soc/soc:firmware} up to the Pi 4, {@code soc@107c000000/...} on
     * the Pi 5 with recent kernels; so look for any {@code soc*}/{@code *:firmware}.
     */
    static String throttledPath(BoardFiles files) {
        if (files.exists(GET_THROTTLED)) {
            return GET_THROTTLED;
        }
        try (DirectoryStream<Path> socs = Files.newDirectoryStream(files.resolve("/sys/devices/platform"), "soc*")) {
            for (Path soc : socs) {
                try (DirectoryStream<Path> fw = Files.newDirectoryStream(soc, "*firmware")) {
                    for (Path f : fw) {
                        if (Files.exists(f.resolve("get_throttled"))) {
                            return "/sys/devices/platform/" + soc.getFileName() + "/" + f.getFileName()
                                    + "/get_throttled";
                        }
                    }
                }
            }
        } catch (IOException e) {
            // fall through: no firmware node
        }
        return GET_THROTTLED;
    }
}
