package dev.prospector.hardware;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Uptime, boot id, wall-clock steps, load average and memory from /proc. Thread-safe; one
 * instance per board (it remembers the first uptime to detect clock steps).
 */
final class SystemReader {

    static final List<String> NAMES =
            List.of("uptime", "clock.step", "load.1m", "load.5m", "load.15m", "memory.total", "memory.available");

    private static final Pattern BOOT_ID =
            Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    private final BoardFiles files;
    private final Object lock = new Object();
    // @GuardedBy("lock"): the first (wall clock, uptime) pair of this boot.
    private Instant baseWall;
    private double baseUptime;
    private String baseBoot = "";

    SystemReader(BoardFiles files) {
        this.files = files;
    }

    void read(Readings out) {
        String bootId = bootId(out);
        uptime(out, bootId);
        load(out);
        memory(out);
    }

    private String bootId(Readings out) {
        String path = "/proc/sys/kernel/random/boot_id";
        try {
            String id = files.line(path);
            if (!BOOT_ID.matcher(id).matches()) {
                throw Unreadable.garbled(path, id);
            }
            out.bootId(id);
            return id;
        } catch (Unreadable e) {
            out.unavailable("boot_id", e.reason(), path);
            return "";
        }
    }

    private void uptime(Readings out, String bootId) {
        String path = "/proc/uptime";
        double up;
        try {
            String line = files.line(path);
            int space = line.indexOf(' ');
            try {
                up = Double.parseDouble(space < 0 ? line : line.substring(0, space));
            } catch (NumberFormatException e) {
                throw Unreadable.garbled(path, line);
            }
            if (!(up >= 0) || Double.isInfinite(up)) {
                throw Unreadable.garbled(path, line);
            }
        } catch (Unreadable e) {
            out.unavailable("uptime", e.reason(), path);
            out.unavailable("clock.step", "no uptime to compare the clock with: " + e.reason(), path);
            return;
        }
        out.value("uptime", up, "s", path);
        out.value("clock.step", clockStep(out.time(), up, bootId), "s", "clock vs " + path);
    }

    /**
     * How far the wall clock has moved beyond the time the board has been up since the first
     * reading of this boot: 0 while the two agree, +3600 after the clock jumps an hour ahead.
     */
    private double clockStep(Instant now, double uptime, String bootId) {
        synchronized (lock) {
            if (baseWall == null || !baseBoot.equals(bootId) || uptime < baseUptime) {
                baseWall = now;
                baseUptime = uptime;
                baseBoot = bootId;
                return 0;
            }
            double wall = Duration.between(baseWall, now).toNanos() / 1e9;
            double step = wall - (uptime - baseUptime);
            return Math.round(step * 1000) / 1000.0;
        }
    }

    private void load(Readings out) {
        String path = "/proc/loadavg";
        try {
            String line = files.line(path);
            String[] f = line.split(" ");
            if (f.length < 3) {
                throw Unreadable.garbled(path, line);
            }
            double[] v = new double[3];
            for (int i = 0; i < 3; i++) {
                try {
                    v[i] = Double.parseDouble(f[i]);
                } catch (NumberFormatException e) {
                    throw Unreadable.garbled(path, line);
                }
                if (!(v[i] >= 0) || Double.isInfinite(v[i])) {
                    throw Unreadable.garbled(path, line);
                }
            }
            out.value("load.1m", v[0], "1", path);
            out.value("load.5m", v[1], "1", path);
            out.value("load.15m", v[2], "1", path);
        } catch (Unreadable e) {
            out.unavailable(List.of("load.1m", "load.5m", "load.15m"), e.reason(), path);
        }
    }

    private void memory(Readings out) {
        String path = "/proc/meminfo";
        String text;
        try {
            text = files.text(path);
        } catch (Unreadable e) {
            out.unavailable(List.of("memory.total", "memory.available"), e.reason(), path);
            return;
        }
        kilobytes(out, "memory.total", text, "MemTotal", path);
        kilobytes(out, "memory.available", text, "MemAvailable", path);
    }

    private static void kilobytes(Readings out, String name, String text, String key, String path) {
        String field = BoardDetector.field(text, key);
        if (field.isEmpty()) {
            out.unavailable(name, "no " + key + " line in " + path, path);
            return;
        }
        String number = field.endsWith(" kB") ? field.substring(0, field.length() - 3) : "";
        try {
            long kb = Long.parseLong(number.strip());
            if (kb < 0) {
                throw new NumberFormatException();
            }
            out.value(name, kb * 1024.0, "B", path);
        } catch (NumberFormatException e) {
            out.unavailable(name, Unreadable.garbled(path, key + ": " + field).reason(), path);
        }
    }
}
