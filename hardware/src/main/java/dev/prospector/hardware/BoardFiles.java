package dev.prospector.hardware;

import java.io.File;
import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads the small text files of /proc and /sys under a root directory ({@code /} on a board, a
 * fixture tree in tests). Paths are given as the board sees them ({@code /proc/uptime}).
 */
final class BoardFiles {

    /** Largest file read; /proc/mounts and /proc/cpuinfo of a big host stay well under it. */
    static final int MAX_FILE_BYTES = 256 * 1024;

    /** Each reader thread's read buffer: /proc files are small, so rounds allocate no buffers. */
    private static final ThreadLocal<byte[]> BUFFER = ThreadLocal.withInitial(() -> new byte[16 * 1024]);

    /** Bound on the path cache; a board reads a few dozen distinct files. */
    private static final int MAX_CACHED_PATHS = 256;

    private final Path root;
    private final Map<String, File> files = new ConcurrentHashMap<>();

    BoardFiles(Path root) {
        this.root = root;
    }

    Path root() {
        return root;
    }

    /** The file for a board path, e.g. {@code /proc/uptime} under the root. */
    Path resolve(String boardPath) {
        return root.resolve(boardPath.startsWith("/") ? boardPath.substring(1) : boardPath);
    }

    /** The File for a board path, made once: the same few files are read every round. */
    private File file(String boardPath) {
        File f = files.get(boardPath);
        if (f == null) {
            if (files.size() >= MAX_CACHED_PATHS) {
                files.clear();
            }
            f = resolve(boardPath).toFile();
            files.put(boardPath, f);
        }
        return f;
    }

    boolean exists(String boardPath) {
        return Files.exists(resolve(boardPath));
    }

    /**
     * The file's text (ISO-8859-1, so no byte sequence fails to decode), with NUL bytes (the
     * device tree's string terminators) removed; at most {@link #MAX_FILE_BYTES}.
     *
     * @throws Unreadable if the file is missing, unreadable or empty
     */
    String text(String boardPath) throws Unreadable {
        byte[] buf = BUFFER.get();
        int n = 0;
        // FileInputStream on a cached File: a quarter of the garbage of Files.newInputStream.
        try (InputStream in = new FileInputStream(file(boardPath))) {
            int r;
            while ((r = in.read(buf, n, buf.length - n)) > 0) {
                n += r;
                if (n == buf.length) {
                    if (buf.length >= MAX_FILE_BYTES) {
                        break;
                    }
                    buf = Arrays.copyOf(buf, Math.min(buf.length * 2, MAX_FILE_BYTES));
                    BUFFER.set(buf);
                }
            }
        } catch (FileNotFoundException e) {
            String m = String.valueOf(e.getMessage());
            if (m.endsWith("(Permission denied)")) {
                throw new Unreadable("permission denied reading " + boardPath);
            }
            if (m.endsWith("(No such file or directory)") || m.endsWith("(Not a directory)")) {
                throw new Unreadable("missing " + boardPath);
            }
            throw new Unreadable("cannot open " + boardPath + ": " + m);
        } catch (IOException e) {
            // e.g. EINVAL from /sys/class/net/wlan0/speed, EIO from a failing card.
            throw new Unreadable("cannot read " + boardPath + ": " + e.getMessage());
        }
        // Drop NUL bytes (the device tree's string terminators).
        int kept = 0;
        for (int i = 0; i < n; i++) {
            if (buf[i] != 0) {
                buf[kept++] = buf[i];
            }
        }
        String text = new String(buf, 0, kept, StandardCharsets.ISO_8859_1);
        if (text.isBlank()) {
            throw new Unreadable("empty " + boardPath);
        }
        return text;
    }

    /** The first line of the file, stripped. */
    String line(String boardPath) throws Unreadable {
        String text = text(boardPath);
        int nl = text.indexOf('\n');
        String line = (nl < 0 ? text : text.substring(0, nl)).strip();
        if (line.isEmpty()) {
            throw Unreadable.garbled(boardPath, text);
        }
        return line;
    }

    /** The first line parsed as a decimal integer. */
    long longValue(String boardPath) throws Unreadable {
        String line = line(boardPath);
        try {
            return Long.parseLong(line);
        } catch (NumberFormatException e) {
            throw Unreadable.garbled(boardPath, line);
        }
    }

    /** The first line parsed as a non-negative decimal counter. */
    long counter(String boardPath) throws Unreadable {
        long v = longValue(boardPath);
        if (v < 0) {
            throw Unreadable.garbled(boardPath, Long.toString(v));
        }
        return v;
    }
}
