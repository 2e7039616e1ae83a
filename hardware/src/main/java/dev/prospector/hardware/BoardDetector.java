package dev.prospector.hardware;

import dev.prospector.hardware.board.BoardInfo;
import java.util.Locale;

/**
 * Tells what board a root directory belongs to, from {@code /proc/device-tree/model} and
 * {@code /proc/cpuinfo}. Never throws: what cannot be read is described as well as it can be.
 */
final class BoardDetector {

    private BoardDetector() {}

    static BoardInfo detect(BoardFiles files) {
        String cpuinfo = textOrEmpty(files, "/proc/cpuinfo");
        String model = model(files, cpuinfo);
        String arch = arch(cpuinfo);
        return new BoardInfo(kind(model, arch), model.isEmpty() ? describe(arch, cpuinfo) : model, arch, sha2(cpuinfo));
    }

    /** The board's own name for itself: device tree first, then cpuinfo's "Model" line. */
    private static String model(BoardFiles files, String cpuinfo) {
        try {
            return files.line("/proc/device-tree/model");
        } catch (Unreadable e) {
            String fromCpuinfo = field(cpuinfo, "Model");
            return fromCpuinfo.isEmpty() ? field(cpuinfo, "Hardware") : fromCpuinfo;
        }
    }

    static String kind(String model, String arch) {
        String m = model.toLowerCase(Locale.ROOT);
        if (m.contains("raspberry pi")) {
            if (m.contains("zero 2")) {
                return "pi-zero-2-w";
            }
            if (m.contains("compute module 4")) {
                return "cm4";
            }
            if (m.contains("pi 5") || m.contains("pi 500")) {
                return "pi-5";
            }
            if (m.contains("pi 4") || m.contains("pi 400")) {
                return "pi-4";
            }
            if (m.contains("pi 3")) {
                return "pi-3";
            }
            return "arm";
        }
        return arch.startsWith("arm") || arch.equals("aarch64") ? "arm" : "linux";
    }

    /**
     * The architecture from cpuinfo: arm64 kernels print {@code CPU architecture: 8} with
     * {@code asimd} in Features, 32-bit ARM kernels print {@code model name : ARMv7 ...}, x86
     * prints a {@code flags} line ({@code lm} on 64-bit). Falls back to the JVM's os.arch.
     */
    static String arch(String cpuinfo) {
        String features = field(cpuinfo, "Features");
        if (!features.isEmpty()) {
            if (hasWord(features, "asimd")) {
                return "aarch64";
            }
            String modelName = field(cpuinfo, "model name").toLowerCase(Locale.ROOT);
            if (modelName.contains("armv6")) {
                return "armv6l";
            }
            return "armv7l";
        }
        String flags = field(cpuinfo, "flags");
        if (!flags.isEmpty()) {
            return hasWord(flags, "lm") ? "x86_64" : "i686";
        }
        String os = System.getProperty("os.arch", "unknown");
        return os.equals("amd64") ? "x86_64" : os;
    }

    /** SHA-256 in hardware: ARMv8 {@code sha2} in Features, or x86 {@code sha_ni} in flags. */
    static boolean sha2(String cpuinfo) {
        return hasWord(field(cpuinfo, "Features"), "sha2") || hasWord(field(cpuinfo, "flags"), "sha_ni");
    }

    private static String describe(String arch, String cpuinfo) {
        String name = field(cpuinfo, "model name");
        return name.isEmpty() ? "unknown " + arch + " machine" : name;
    }

    /**
     * The value of the first {@code key : value} line in cpuinfo-style text, or "". The key is
     * case-sensitive: a Pi's cpuinfo says {@code Model}, x86's {@code model} is a number.
     */
    static String field(String text, String key) {
        int from = 0;
        int len = text.length();
        while (from < len) {
            int nl = text.indexOf('\n', from);
            int end = nl < 0 ? len : nl;
            if (text.startsWith(key, from)) {
                // The key, then only blanks up to the colon (cpuinfo pads with tabs).
                int i = from + key.length();
                while (i < end && (text.charAt(i) == ' ' || text.charAt(i) == '\t')) {
                    i++;
                }
                if (i < end && text.charAt(i) == ':') {
                    return text.substring(i + 1, end).strip();
                }
            }
            from = end + 1;
        }
        return "";
    }

    private static boolean hasWord(String words, String word) {
        for (String w : words.split("\\s+")) {
            if (w.equals(word)) {
                return true;
            }
        }
        return false;
    }

    private static String textOrEmpty(BoardFiles files, String path) {
        try {
            return files.text(path);
        } catch (Unreadable e) {
            return "";
        }
    }
}
