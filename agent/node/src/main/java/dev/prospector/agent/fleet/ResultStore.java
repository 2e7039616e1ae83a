package dev.prospector.agent.fleet;

import dev.prospector.attest.AtomicFiles;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.tinylog.Logger;

/**
 * Signed results waiting to be published: the {@link ResultSink} side of the {@link CommandService}.
 * Each is a file {@code fleet/results/<n>-<command id>.cose}, written atomically before it is
 * published and deleted when the broker has it, so that a result sent while the board is offline,
 * or just before a restart, goes out after the next connect. At most {@link #MAX_FILES}: beyond
 * that the oldest is dropped, with a warning (results are answers, not evidence).
 */
final class ResultStore {
    static final String DIR = "results";
    static final int MAX_FILES = 64;

    private final Path dir;
    private long next;

    ResultStore(Path fleetDir) {
        this.dir = fleetDir.resolve(DIR);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            Logger.warn("cannot create {}: {}; command results are not kept across restarts", dir, e.getMessage());
        }
        for (Path p : files()) {
            next = Math.max(next, sequence(p) + 1);
        }
    }

    private static long sequence(Path p) {
        String n = p.getFileName().toString();
        try {
            return Long.parseLong(n.substring(0, n.indexOf('-')));
        } catch (RuntimeException e) {
            return 0;
        }
    }

    /** Keeps a signed result; returns its file (empty path on failure: the result is then only published). */
    synchronized Path keep(String commandId, byte[] signed) {
        List<Path> existing = files();
        for (int i = 0; i <= existing.size() - MAX_FILES; i++) {
            Logger.warn("dropping unsent command result {} (more than {} waiting)", existing.get(i), MAX_FILES);
            delete(existing.get(i));
        }
        Path file = dir.resolve(String.format("%012d-%s.cose", next++, commandId));
        try {
            AtomicFiles.write(file, signed, AtomicFiles.OWNER_ONLY);
            return file;
        } catch (IOException e) {
            Logger.warn("cannot keep command result for {}: {}", commandId, e.getMessage());
            return null;
        }
    }

    /** The results waiting, oldest first. */
    synchronized List<Path> files() {
        var out = new ArrayList<Path>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "*.cose")) {
            s.forEach(out::add);
        } catch (IOException e) {
            return List.of();
        }
        out.sort(Comparator.comparing(p -> p.getFileName().toString()));
        return out;
    }

    static void delete(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            Logger.debug("cannot delete {}: {}", p, e.getMessage());
        }
    }
}
