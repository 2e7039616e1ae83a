package dev.prospector.agent.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The fleet console's class-data sharing archives that a launcher (the source tree's
 * {@code ./prospector} or the Debian package's {@code /usr/bin/prospector}) keeps in a user's cache:
 * {@code CACHE/prospector/*.jsa}, with {@code CACHE} what the test gave as {@code XDG_CACHE_HOME}.
 */
public final class FleetArchives {
    private FleetArchives() {}

    /** The archives in {@code cache}'s {@code prospector} directory; none if it is not there. */
    public static List<Path> in(Path cache) throws IOException {
        Path d = cache.resolve("prospector");
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.filter(f -> f.getFileName().toString().endsWith(".jsa"))
                    .sorted()
                    .toList();
        }
    }
}
