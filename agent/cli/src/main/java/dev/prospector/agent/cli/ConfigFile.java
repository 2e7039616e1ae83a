package dev.prospector.agent.cli;

import dev.prospector.agent.common.Failure;
import dev.prospector.agent.update.ConfigStore;
import dev.prospector.hardware.HardwareSettings;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import picocli.CommandLine;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The configuration file: {@code key = value} lines whose keys are the long option names of the
 * commands ({@code broker}, {@code fleet}, {@code interval}, …), optionally qualified by the
 * command ({@code run.interval} wins over {@code interval} for {@code prospector run}). Flags on
 * the command line override it; a repeatable option takes a comma-separated list (e.g. the
 * operator keys a board obeys: {@code operator-key = /etc/prospector/operators/alice.pub:admin,
 * /etc/prospector/operators/ci.pub:viewer}). Keys under {@code hardware.} describe the board (power sensor,
 * network interface, LED and button pins; see docs/HARDWARE.md) and are checked by
 * {@link HardwareSettings}. Unknown keys are an error that names them, so a typo never goes
 * unnoticed.
 *
 * <p>Found at {@code --config FILE}, else {@code $PROSPECTOR_CONFIG}, else
 * {@code /etc/prospector/prospector.conf} when it exists.
 *
 * <p>For {@code prospector run}, a configuration pushed by an operator ({@code set-config}) is a
 * layer over that file: {@code DATA_DIR/config/current.conf} ({@link ConfigStore}), where the
 * data dir is {@code --data-dir}, else the file's {@code run.data-dir} or {@code data-dir}, else
 * {@code /var/lib/prospector}. Precedence, highest first: command-line flags, the pushed layer,
 * the file, the built-in defaults.
 */
public final class ConfigFile implements IDefaultValueProvider {
    public static final Path DEFAULT = Paths.get("/etc/prospector/prospector.conf");
    public static final String ENVIRONMENT = "PROSPECTOR_CONFIG";

    private final Path path;
    private final Properties values;
    /** The pushed layer over the file, if any: where it was read and the keys it set. */
    private final Optional<Path> pushed;

    private final Set<String> pushedKeys;

    private ConfigFile(Path path, Properties values) {
        this(path, values, Optional.empty(), Set.of());
    }

    private ConfigFile(Path path, Properties values, Optional<Path> pushed, Set<String> pushedKeys) {
        this.path = path;
        this.values = values;
        this.pushed = pushed;
        this.pushedKeys = Set.copyOf(pushedKeys);
    }

    /** Where a {@code prospector run} with no {@code --data-dir} keeps its state. */
    static final Path DEFAULT_DATA_DIR = Paths.get("/var/lib/prospector");

    /**
     * The configuration in force: {@link #findFile} and, for {@code run}, the pushed layer over it
     * (see the class comment).
     */
    public static Optional<ConfigFile> find(String[] args) {
        Optional<ConfigFile> file = findFile(args);
        if (!"run".equals(command(args))) {
            return file;
        }
        Path dataDir = dataDir(args, file);
        Optional<ConfigStore.Layer> layer = ConfigStore.layer(dataDir);
        return layer.isEmpty()
                ? file
                : Optional.of(layered(file, layer.get().file(), layer.get().text()));
    }

    /**
     * {@code base} (or nothing) with {@code text}, a pushed configuration read from {@code source},
     * over it. Fails when the text is not a {@code key = value} file.
     */
    static ConfigFile layered(Optional<ConfigFile> base, Path source, String text) {
        Properties top = new Properties();
        try {
            top.load(new java.io.StringReader(text));
        } catch (IOException | IllegalArgumentException e) {
            throw new Failure("pushed configuration " + source + " cannot be read: " + e.getMessage());
        }
        Properties merged = new Properties();
        base.ifPresent(b -> merged.putAll(b.values));
        merged.putAll(top);
        return new ConfigFile(
                base.map(ConfigFile::path).orElse(source), merged, Optional.of(source), top.stringPropertyNames());
    }

    /** The first word of the command line that is not an option or an option's value. */
    static String command(String[] args) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config")) {
                i++;
            } else if (!args[i].startsWith("-")) {
                return args[i];
            }
        }
        return "";
    }

    /** The data dir of {@code run}: the flag, else the file's setting, else the default. */
    static Path dataDir(String[] args, Optional<ConfigFile> file) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--data-dir") && i + 1 < args.length) {
                return Paths.get(args[i + 1]);
            } else if (args[i].startsWith("--data-dir=")) {
                return Paths.get(args[i].substring("--data-dir=".length()));
            }
        }
        return file.map(f -> f.values.getProperty("run.data-dir", f.values.getProperty("data-dir")))
                .map(v -> Paths.get(v.trim()))
                .orElse(DEFAULT_DATA_DIR);
    }

    /** The pushed layer this configuration includes, if any. */
    public Optional<Path> pushed() {
        return pushed;
    }

    /** The file named on the command line or by the environment, or the default one if present. */
    public static Optional<ConfigFile> findFile(String[] args) {
        Optional<Path> named = Optional.empty();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                named = Optional.of(Paths.get(args[i + 1]));
            } else if (args[i].startsWith("--config=")) {
                named = Optional.of(Paths.get(args[i].substring("--config=".length())));
            }
        }
        if (named.isPresent()) {
            return Optional.of(load(named.get(), "--config"));
        }
        if (System.getenv(ENVIRONMENT) != null && !System.getenv(ENVIRONMENT).isBlank()) {
            return Optional.of(load(Paths.get(System.getenv(ENVIRONMENT)), "$" + ENVIRONMENT));
        }
        return Files.isRegularFile(DEFAULT) ? Optional.of(load(DEFAULT)) : Optional.empty();
    }

    public static ConfigFile load(Path path) {
        return load(path, "--config");
    }

    /** Reads the file that {@code source} ({@code --config} or the environment variable) names. */
    private static ConfigFile load(Path path, String source) {
        if (Files.isDirectory(path)) {
            throw new Failure("config file " + path + " is a directory: " + source
                    + " needs a file of key = value lines, e.g. " + path.resolve("prospector.conf"));
        }
        if (!Files.isRegularFile(path)) {
            throw new Failure("config file " + path + " does not exist: create it or drop " + source);
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException | IllegalArgumentException e) {
            throw new Failure("cannot read config file " + path + ": " + e.getMessage());
        }
        return new ConfigFile(path, p);
    }

    public Path path() {
        return path;
    }

    /** The {@code hardware.*} settings, which {@link HardwareSettings} reads and checks. */
    public Map<String, String> hardware() {
        Map<String, String> out = new TreeMap<>();
        for (String key : values.stringPropertyNames()) {
            if (key.startsWith(HardwareSettings.PREFIX)) {
                out.put(key, values.getProperty(key).trim());
            }
        }
        return out;
    }

    /**
     * Fails on keys that no command knows, naming them and the file.
     */
    public void checkKeys(CommandLine root) {
        Set<String> known = new TreeSet<>();
        collect(root, known);
        Set<String> unknown = new TreeSet<>();
        for (String key : values.stringPropertyNames()) {
            if (!known.contains(key) && !key.startsWith(HardwareSettings.PREFIX)) {
                unknown.add(key);
            }
        }
        Set<String> unknownPushed = new TreeSet<>(unknown);
        unknownPushed.retainAll(pushedKeys);
        if (!unknownPushed.isEmpty() && pushed.isPresent()) {
            throw new Failure("pushed configuration " + pushed.get() + " has unknown setting(s) " + unknownPushed
                    + ": push a corrected configuration, or remove the file to drop the pushed layer");
        }
        if (!unknown.isEmpty()) {
            throw new Failure(
                    "config file " + path + " has unknown setting(s) " + unknown
                            + ": remove them or fix the spelling (settings are the long option names, e.g. broker, fleet, interval)");
        }
    }

    private static void collect(CommandLine cmd, Set<String> known) {
        String name = cmd.getCommandSpec().name();
        for (OptionSpec option : cmd.getCommandSpec().options()) {
            String key = key(option);
            known.add(key);
            known.add(name + "." + key);
        }
        for (CommandLine sub : cmd.getSubcommands().values()) {
            collect(sub, known);
        }
    }

    @Override
    public String defaultValue(ArgSpec argSpec) {
        if (!(argSpec instanceof OptionSpec option)) {
            return null;
        }
        CommandSpec command = option.command();
        String key = key(option);
        String qualified = command == null ? null : values.getProperty(command.name() + "." + key);
        return qualified != null
                ? qualified.trim()
                : values.getProperty(key) == null
                        ? null
                        : values.getProperty(key).trim();
    }

    private static String key(OptionSpec option) {
        return option.longestName().replaceFirst("^-+", "");
    }
}
