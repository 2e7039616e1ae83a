package dev.prospector.agent.broker;

import dev.prospector.agent.common.Failure;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** Finds the embedded broker's jars: a folder of jars that holds HiveMQ CE embedded. */
public final class BrokerRuntime {
    /** System property naming the folder; set by the launcher and by the build for tests. */
    public static final String PROPERTY = "prospector.broker.lib";
    /** Environment variable naming the folder. */
    public static final String ENVIRONMENT = "PROSPECTOR_BROKER_LIB";
    /** Where the Debian package installs it. */
    public static final Path INSTALLED = Paths.get("/usr/share/prospector/lib/broker");

    private BrokerRuntime() {}

    /** The broker's jars, or a {@link Failure} that says where we looked and what to do. */
    public static List<Path> locate() {
        List<Path> candidates = new ArrayList<>();
        Optional.ofNullable(System.getProperty(PROPERTY)).map(Paths::get).ifPresent(candidates::add);
        Optional.ofNullable(System.getenv(ENVIRONMENT)).map(Paths::get).ifPresent(candidates::add);
        besideOurJar().ifPresent(candidates::add);
        candidates.add(INSTALLED);
        for (Path dir : candidates) {
            List<Path> jars = jars(dir);
            if (jars.stream()
                    .anyMatch(j -> j.getFileName().toString().startsWith("hivemq-community-edition-embedded"))) {
                return jars;
            }
        }
        throw new Failure(
                "the embedded MQTT broker is not installed (looked in " + candidates
                        + "): build it with `mvn -q package -DskipTests` or point " + ENVIRONMENT
                        + " at its jars",
                Failure.Kind.UNAVAILABLE);
    }

    /**
     * Where the broker's jars are, given where this class was loaded from: its jar is one of the
     * program's libraries (lib/ beside prospector.jar, installed or built), whose lib/broker holds
     * the broker; run from classes (a module's target/classes), target/lib/broker.
     */
    static Path brokerDirFor(Path codeLocation) {
        Path base = codeLocation.getParent();
        if (base.getFileName() != null && base.getFileName().toString().equals("lib")) {
            return base.resolve("broker");
        }
        return base.resolve("lib").resolve("broker");
    }

    private static Optional<Path> besideOurJar() {
        try {
            var source = BrokerRuntime.class.getProtectionDomain().getCodeSource();
            if (source == null) {
                return Optional.empty();
            }
            return Optional.of(brokerDirFor(Paths.get(source.getLocation().toURI())));
        } catch (URISyntaxException | SecurityException e) {
            return Optional.empty();
        }
    }

    private static List<Path> jars(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".jar"))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
