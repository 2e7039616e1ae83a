package dev.prospector.hardware;

import java.nio.file.Files;
import java.nio.file.Path;

/** The committed board trees under src/test/resources/fixtures (read in place: they hold links). */
final class Fixtures {
    static final String[] BOARDS = {"pi-zero-2-w", "pi-4", "pi-5", "cm4"};

    private Fixtures() {}

    static Path root(String board) {
        Path p = Path.of("src/test/resources/fixtures", board).toAbsolutePath();
        if (!Files.isDirectory(p)) {
            throw new IllegalStateException("no fixture tree " + p);
        }
        return p;
    }
}
