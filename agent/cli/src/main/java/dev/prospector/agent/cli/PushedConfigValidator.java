package dev.prospector.agent.cli;

import dev.prospector.agent.common.Failure;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.update.ConfigValidator;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import picocli.CommandLine;

/**
 * Checks a configuration pushed by {@code set-config} the way a start of {@code prospector run}
 * would read it: this process's command line, the config file as it is now, and the pushed text
 * over it ({@link ConfigFile}). Unknown keys, values that do not parse or fall outside their
 * bounds, a fleet name or broker URL that is not one, hardware settings that do not hold, and
 * verifier or operator key files and a ledger file that do not exist are all named. Keys that would
 * move the pushed layer itself ({@code data-dir}, {@code config}) cannot be pushed, and a push that
 * would leave the board without an admin operator key (locking out every later push) is refused.
 */
final class PushedConfigValidator implements ConfigValidator {
    /** Keys a push may not set: the pushed layer lives in the data dir. */
    static final Set<String> NOT_PUSHABLE = Set.of("data-dir", "run.data-dir", "config", "run.config");

    private final String[] args;

    /** @param args the command line this agent was started with */
    PushedConfigValidator(String[] args) {
        this.args = args.clone();
    }

    @Override
    public List<String> problems(String text) {
        List<String> out = new ArrayList<>();
        Properties p = new Properties();
        try {
            p.load(new StringReader(text));
        } catch (IOException | IllegalArgumentException e) {
            return List.of("not a key = value file: " + e.getMessage());
        }
        Set<String> forbidden = new TreeSet<>(p.stringPropertyNames());
        forbidden.retainAll(NOT_PUSHABLE);
        if (!forbidden.isEmpty()) {
            return List.of(
                    "setting(s) " + forbidden
                            + " cannot be pushed: the pushed configuration lives in the data dir; change them in the config file");
        }
        try {
            Optional<ConfigFile> file = ConfigFile.findFile(args);
            ConfigFile layered = ConfigFile.layered(file, Path.of("(in the set-config command)"), text);
            CommandLine.ParseResult parsed = ProspectorCommand.parseWith(args, Optional.of(layered));
            if (!(parsed.subcommand() != null
                    && parsed.subcommand().commandSpec().userObject() instanceof RunCommand fresh)) {
                return List.of("this agent's command line is not `run`: cannot check a pushed configuration");
            }
            AgentWiring.RunSettings s = fresh.settings();
            for (Path k : s.verifierKeys()) {
                requireFile(k, "verifier-key", out);
            }
            s.ledger().ifPresent(l -> requireFile(l, "ledger", out));
            var operators = fresh.fleetSettings().operatorKeys();
            for (var spec : operators) {
                requireFile(spec.file(), "operator-key", out);
            }
            if (operators.stream().noneMatch(k -> k.role() == dev.prospector.agent.fleet.Role.ADMIN)) {
                out.add("it leaves this board no admin operator key (operator-key FILE:admin):"
                        + " no later set-config or update could reach it");
            }
        } catch (Failure | IllegalArgumentException e) {
            out.add(e.getMessage());
        }
        return out;
    }

    private static void requireFile(Path file, String setting, List<String> out) {
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            out.add(setting + " " + file + " is not a readable file on this board");
        }
    }
}
