package dev.prospector.hardware;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The data dir's storage: capacity and free bytes from the real filesystem (statvfs through
 * {@link FileStore}), and from the root's /proc and /sys the mount behind it (read-only remount
 * detection), the block device and its kind, bytes written since boot and, where the kernel
 * exposes it (eMMC), the device's own wear estimate.
 */
final class StorageReader {

    static final List<String> NAMES = List.of(
            "storage.total",
            "storage.free",
            "storage.read_only",
            "storage.kind",
            "storage.written",
            "storage.life_used",
            "storage.pre_eol");
    private static final List<String> DEVICE_NAMES = NAMES.subList(3, NAMES.size());

    /** {@code storage.kind} codes; the table is in docs/HARDWARE.md. */
    enum Kind {
        SD(1),
        EMMC(2),
        USB(3),
        NVME(4),
        SATA(5),
        VIRTIO(6);

        final int code;

        Kind(int code) {
            this.code = code;
        }

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Bytes per sector in /sys/block/<dev>/stat, fixed by the kernel whatever the device. */
    private static final int STAT_SECTOR_BYTES = 512;

    private static final Pattern PARTITION_P = Pattern.compile("((?:mmcblk|nvme\\d+n)\\d+)p\\d+");
    private static final Pattern PARTITION_DIGITS = Pattern.compile("([shv]d[a-z]+)\\d+");

    private final BoardFiles files;
    private final Path dataDir;
    private final boolean realRoot;
    private final Object lock = new Object();
    // @GuardedBy("lock"): statvfs is cheap, finding the mount for a path is not.
    private Path storePath;
    private FileStore store;

    StorageReader(BoardFiles files, Path dataDir) {
        this.files = files;
        this.dataDir = dataDir.toAbsolutePath().normalize();
        this.realRoot = files.root().toAbsolutePath().normalize().getParent() == null;
    }

    void read(Readings out) {
        space(out);
        Optional<Mount> mount = mount(out);
        if (mount.isEmpty()) {
            return;
        }
        device(out, mount.get());
    }

    private void space(Readings out) {
        Path existing = existingAncestor(dataDir);
        String source = "statvfs " + existing;
        try {
            FileStore fs = store(existing);
            out.value("storage.total", fs.getTotalSpace(), "B", source);
            out.value("storage.free", fs.getUsableSpace(), "B", source);
        } catch (IOException | RuntimeException e) {
            synchronized (lock) {
                store = null;
            }
            String reason = "cannot stat the filesystem of " + existing + ": " + e.getMessage();
            out.unavailable("storage.total", reason, source);
            out.unavailable("storage.free", reason, source);
        }
    }

    private FileStore store(Path existing) throws IOException {
        synchronized (lock) {
            if (store == null || !existing.equals(storePath)) {
                store = Files.getFileStore(existing);
                storePath = existing;
            }
            return store;
        }
    }

    /** The data dir, or its nearest ancestor that exists (before the agent has made it). */
    static Path existingAncestor(Path dir) {
        Path p = dir;
        while (p != null && !Files.exists(p)) {
            p = p.getParent();
        }
        return p == null ? dir.getRoot() : p;
    }

    record Mount(String device, String point, String type, boolean readOnly) {}

    private Optional<Mount> mount(Readings out) {
        String path = "/proc/mounts";
        String text;
        try {
            text = files.text(path);
        } catch (Unreadable e) {
            out.unavailable("storage.read_only", e.reason(), path);
            out.unavailable(DEVICE_NAMES, e.reason(), path);
            return Optional.empty();
        }
        String target = boardPath();
        Mount best = null;
        for (String line : text.split("\n")) {
            String[] f = line.split(" ");
            if (f.length < 4) {
                continue;
            }
            String point = unescape(f[1]);
            if (covers(point, target)
                    && (best == null || point.length() >= best.point().length())) {
                boolean ro = false;
                for (String opt : f[3].split(",")) {
                    ro |= opt.equals("ro");
                }
                best = new Mount(unescape(f[0]), point, f[2], ro);
            }
        }
        if (best == null) {
            String reason = "no mount in " + path + " covers " + target;
            out.unavailable("storage.read_only", reason, path);
            out.unavailable(DEVICE_NAMES, reason, path);
            return Optional.empty();
        }
        out.value("storage.read_only", best.readOnly() ? 1 : 0, "bool", path + " (" + best.point() + ")");
        return Optional.of(best);
    }

    /** The data dir as the board sees it: resolved through symlinks on a real root. */
    private String boardPath() {
        Path p = existingAncestor(dataDir);
        if (realRoot) {
            try {
                p = p.toRealPath();
            } catch (IOException e) {
                // keep the absolute path
            }
        }
        return p.toString();
    }

    private static boolean covers(String point, String path) {
        return point.equals("/") || path.equals(point) || path.startsWith(point + "/");
    }

    /** /proc/mounts writes space, tab, newline and backslash as octal escapes. */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                try {
                    b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                    i += 3;
                    continue;
                } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
                    // not an escape: keep the backslash
                }
            }
            b.append(c);
        }
        return b.toString();
    }

    private void device(Readings out, Mount mount) {
        String disk;
        try {
            disk = disk(mount);
        } catch (Unreadable e) {
            out.unavailable(DEVICE_NAMES, e.reason(), "/proc/mounts (" + mount.device() + ")");
            return;
        }
        String sys = "/sys/block/" + disk;
        Kind kind;
        try {
            kind = kind(disk);
            out.value("storage.kind", kind.code, "code", sys + " (" + kind.label() + ")");
        } catch (Unreadable e) {
            kind = null;
            out.unavailable("storage.kind", e.reason(), sys);
        }
        written(out, sys + "/stat");
        wear(out, sys, kind);
    }

    /** The whole disk behind the mount's device, e.g. mmcblk0 for /dev/mmcblk0p2. */
    private String disk(Mount mount) throws Unreadable {
        String dev = mount.device();
        if (dev.equals("/dev/root")) {
            dev = rootFromCmdline();
        }
        if (!dev.startsWith("/dev/") || dev.startsWith("/dev/mapper/")) {
            throw new Unreadable("the data dir is on " + mount.type() + " (" + mount.device()
                    + "), not on a partition of a block device");
        }
        String name = dev.substring("/dev/".length());
        if (files.exists("/sys/block/" + name)) {
            return name;
        }
        Matcher m = PARTITION_P.matcher(name);
        if (m.matches()) {
            return m.group(1);
        }
        m = PARTITION_DIGITS.matcher(name);
        if (m.matches()) {
            return m.group(1);
        }
        throw new Unreadable("cannot tell the disk of " + dev + " (no /sys/block/" + name + ")");
    }

    /** Older Pi OS mounts "/dev/root"; the kernel command line names the real partition. */
    private String rootFromCmdline() throws Unreadable {
        String cmdline = files.line("/proc/cmdline");
        for (String arg : cmdline.split(" ")) {
            if (arg.startsWith("root=/dev/")) {
                return arg.substring("root=".length());
            }
            if (arg.startsWith("root=PARTUUID=")) {
                Path link = files.resolve("/dev/disk/by-partuuid/" + arg.substring("root=PARTUUID=".length()));
                try {
                    return "/dev/" + Files.readSymbolicLink(link).getFileName();
                } catch (IOException | UnsupportedOperationException e) {
                    throw new Unreadable("cannot resolve " + arg + " (no /dev/disk/by-partuuid link)");
                }
            }
        }
        throw new Unreadable("/dev/root with no root= device in /proc/cmdline");
    }

    private Kind kind(String disk) throws Unreadable {
        if (disk.startsWith("mmcblk")) {
            String path = "/sys/block/" + disk + "/device/type";
            String type = files.line(path);
            switch (type) {
                case "SD":
                    return Kind.SD;
                case "MMC":
                    return Kind.EMMC;
                default:
                    throw Unreadable.garbled(path, type);
            }
        }
        if (disk.startsWith("nvme")) {
            return Kind.NVME;
        }
        if (disk.startsWith("vd")) {
            return Kind.VIRTIO;
        }
        if (!files.exists("/sys/block/" + disk)) {
            throw new Unreadable("missing /sys/block/" + disk);
        }
        if (disk.startsWith("sd")) {
            // /sys/block/sdX links into the device tree; USB mass storage has /usbN/ on the way.
            try {
                String target = Files.readSymbolicLink(files.resolve("/sys/block/" + disk))
                        .toString();
                return target.contains("/usb") ? Kind.USB : Kind.SATA;
            } catch (IOException | UnsupportedOperationException e) {
                throw new Unreadable(
                        "cannot tell whether " + disk + " is USB or SATA (/sys/block/" + disk + " is not a link)");
            }
        }
        throw new Unreadable("unknown kind of block device " + disk);
    }

    private void written(Readings out, String path) {
        try {
            String line = files.line(path);
            String[] f = line.trim().split("\\s+");
            if (f.length < 7) {
                throw Unreadable.garbled(path, line);
            }
            try {
                long sectors = Long.parseLong(f[6]);
                if (sectors < 0) {
                    throw Unreadable.garbled(path, line);
                }
                out.value("storage.written", (double) sectors * STAT_SECTOR_BYTES, "B", path);
            } catch (NumberFormatException e) {
                throw Unreadable.garbled(path, line);
            }
        } catch (Unreadable e) {
            out.unavailable("storage.written", e.reason(), path);
        }
    }

    /**
     * eMMC devices report their wear (JEDEC: life_time in steps of 10 %, pre_eol_info 1 normal,
     * 2 warning, 3 urgent); SD cards, USB and NVMe expose none through sysfs.
     */
    private void wear(Readings out, String sys, Kind kind) {
        if (kind != Kind.EMMC) {
            String reason =
                    kind == null ? "unknown storage kind" : kind.label() + " storage reports no wear to the kernel";
            out.unavailable("storage.life_used", reason, sys);
            out.unavailable("storage.pre_eol", reason, sys);
            return;
        }
        String life = sys + "/device/life_time";
        try {
            String line = files.line(life);
            String[] f = line.split("\\s+");
            int a = emmcByte(life, line, f[0]);
            int b = f.length > 1 ? emmcByte(life, line, f[1]) : a;
            int step = Math.max(a, b);
            if (step < 1 || step > 0x0B) {
                throw Unreadable.garbled(life, line);
            }
            // 0x01: 0-10 % used, ... 0x0A: 90-100 %, 0x0B: beyond its estimated life, which is
            // 100 % as well (a percentage stays within 0..100 for the verifier; pre_eol says urgent).
            out.value("storage.life_used", Math.min(step * 10, 100), "%", life);
        } catch (Unreadable e) {
            out.unavailable("storage.life_used", e.reason(), life);
        }
        String eol = sys + "/device/pre_eol_info";
        try {
            String line = files.line(eol);
            int v = emmcByte(eol, line, line);
            if (v < 1 || v > 3) {
                throw Unreadable.garbled(eol, line);
            }
            out.value("storage.pre_eol", v, "level", eol);
        } catch (Unreadable e) {
            out.unavailable("storage.pre_eol", e.reason(), eol);
        }
    }

    private static int emmcByte(String path, String line, String hex) throws Unreadable {
        try {
            return Integer.parseInt(hex.startsWith("0x") ? hex.substring(2) : hex, 16);
        } catch (NumberFormatException e) {
            throw Unreadable.garbled(path, line);
        }
    }
}
