package dev.prospector.hardware;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads the small text files of /proc and /sys under a root directory ({@code /} on a board, a
 * fixture tree in tests). Paths are given as the board sees them ({@code /proc/uptime}).
 */
final class BoardFiles {

    /** Largest file read; /proc/mounts and /proc/cpuinfo of a big host stay well under it. */
    static final int MAX_FILE_BYTES = 256 * 1024;

    private final Path root;

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

    boolean exists(String boardPath) {
        return Files.exists(resolve(boardPath));
    }

    /**
     * The file's text (ISO-8859-1, so no byte sequence fails to decode), with NUL bytes (the
     * device tree's string terminators) removed.
     *
     * @throws Unreadable if the file is missing, unreadable or empty
     */
    String text(String boardPath) throws Unreadable {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(resolve(boardPath))) {
            bytes = in.readNBytes(MAX_FILE_BYTES);
        } catch (NoSuchFileException e) {
            throw new Unreadable("missing " + boardPath);
        } catch (AccessDeniedException e) {
            throw new Unreadable("permission denied reading " + boardPath);
        } catch (IOException e) {
            // e.g. EINVAL from /sys/class/net/wlan0/speed, EIO from a failing card.
            throw new Unreadable("cannot read " + boardPath + ": " + e.getMessage());
        }
        int n = 0;
        for (byte b : bytes) {
            if (b != 0) {
                bytes[n++] = b;
            }
        }
        String text = new String(bytes, 0, n, StandardCharsets.ISO_8859_1);
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
