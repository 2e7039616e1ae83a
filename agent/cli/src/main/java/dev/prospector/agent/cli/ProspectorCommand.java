package dev.prospector.agent.cli;

import dev.prospector.agent.common.Failure;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Optional;
import java.util.ServiceLoader;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The top-level {@code prospector} command: wires every subcommand and the error policy. */
@Command(
        name = "prospector",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Proof-of-service agent for Raspberry Pi and ARM boards.",
        // The same list as the README's Troubleshooting section; ExitCodes holds the numbers.
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            ExitCodes.OK + ":success (run and verifier: also on SIGTERM)",
            ExitCodes.CHECK_FAILED + ":a check failed (invalid signature, rejected report, missed target)",
            ExitCodes.BAD_INPUT + ":bad input: arguments, files, configuration",
            ExitCodes.UNAVAILABLE + ":a broker or resource is unavailable (unreachable, in use, disk full)",
            ExitCodes.INTERNAL + ":internal error: run again with --debug and report it",
            RunCommand.EXIT_RESTART + ":run only: restarting after a factory reset by the button",
        },
        // The subcommands are added in commandLine(): verifier and measure only where the network side is.
        subcommands = {})
public final class ProspectorCommand implements Runnable {
    /**
     * Whether the network side (agent/network's jar: {@code verifier}, {@code measure}) is on the class path.
     * The board's Debian package leaves it out; the prospector-network package and a source tree have it.
     */
    static final boolean NETWORK_SIDE = present("dev.prospector.agent.verifier.VerifierWiring");

    private static boolean present(String className) {
        try {
            Class.forName(className, false, ProspectorCommand.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /**
     * A command that another module adds when its jar is on the class path, found through
     * {@link ServiceLoader} ({@code META-INF/services/dev.prospector.agent.cli.ProspectorCommand$Extension}):
     * {@code bench} from agent/bench, which never ships on a board.
     */
    public interface Extension {
        /** A picocli command object (annotated with {@code @Command}). */
        Object command();
    }

    /** The command line with this program's commands and every extension on the class path. */
    static CommandLine commandLine(ProspectorCommand root) {
        return commandLine(root, NETWORK_SIDE);
    }

    /**
     * The command line, with {@code verifier} and {@code measure} when {@code networkSide}, else with
     * stand-ins that say where they come from. Their classes are not even loaded without it: picocli
     * reads each command's fields and methods, whose types are the network side's.
     */
    static CommandLine commandLine(ProspectorCommand root, boolean networkSide) {
        CommandLine cli = new CommandLine(root);
        cli.addSubcommand(KeygenCommand.class);
        cli.addSubcommand(ReportCommand.class);
        cli.addSubcommand(InspectCommand.class);
        cli.addSubcommand(RunCommand.class);
        cli.addSubcommand(StatusCommand.class);
        cli.addSubcommand(DashboardPasswordCommand.class);
        if (networkSide) {
            cli.addSubcommand(VerifierCommand.class);
            cli.addSubcommand(MeasureCommand.class);
        } else {
            cli.addSubcommand("verifier", NotInstalledCommand.commandLine("verifier"));
            cli.addSubcommand("measure", NotInstalledCommand.commandLine("measure"));
        }
        cli.addSubcommand(HardwareCommand.class);
        cli.addSubcommand(LedgerCommand.class);
        cli.addSubcommand(FleetConsoleCommand.class);
        cli.addSubcommand(CommandLine.HelpCommand.class);
        for (Extension e : ServiceLoader.load(Extension.class)) {
            cli.addSubcommand(e.command());
        }
        return cli;
    }

    /**
     * The command line for {@code args}: for {@code prospector run ...} (the board's daemon, held
     * in memory for months) only {@code run} under the root, so that picocli neither builds the
     * models of the other commands, which {@code run} would keep on its heap for as long as it runs,
     * nor loads their classes and their options' types (about 2 MB resident: docs/BENCHMARKS.md,
     * "Resident memory"); for {@code prospector fleet ...} only {@code fleet} (see {@link
     * #fleetOnly}); else every command.
     */
    static CommandLine commandLine(ProspectorCommand root, boolean networkSide, String[] args) {
        if (args.length > 0 && args[0].equals("run")) {
            CommandLine cli = new CommandLine(root);
            cli.addSubcommand(RunCommand.class);
            return cli;
        }
        if (isFleet(args)) {
            return fleetOnly(root);
        }
        return commandLine(root, networkSide);
    }

    /**
     * Checks the config file's keys against {@code cli}; when {@code cli} is the {@code run}- or
     * {@code fleet}-only command line and the file has keys it does not know (another command's settings), against
     * every command's, so that the answer is the same as with all of them.
     */
    private static void checkKeys(ConfigFile config, CommandLine cli, boolean networkSide) {
        try {
            config.checkKeys(cli);
        } catch (Failure e) {
            if (cli.getSubcommands().size() > 1) {
                throw e;
            }
            config.checkKeys(commandLine(new ProspectorCommand(), networkSide));
        }
    }

    /** The config file in force, if any: subcommands read its {@code hardware.*} settings. */
    private Optional<ConfigFile> config = Optional.empty();

    /** The {@code hardware.*} settings of the config file (empty without one). */
    public java.util.Map<String, String> hardwareSettings() {
        return config.map(ConfigFile::hardware).orElse(java.util.Map.of());
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(
                new CommandLine(this), "missing command: run `prospector --help` to list them");
    }

    /**
     * Log level: {@code --debug} shows everything; {@code PROSPECTOR_LOG_LEVEL} sets it; the
     * daemons ({@code run}, {@code verifier}) log at info, the other commands only warnings so that
     * their own output stays readable. A {@code PROSPECTOR_LOG_LEVEL} that names no level is said
     * in one warning, and the default holds. Must run before the first log line.
     */
    private static void configureLogging(String[] args, boolean debug) {
        java.util.List<String> levels = java.util.List.of("trace", "debug", "info", "warn", "error", "off");
        String fromEnv = System.getenv("PROSPECTOR_LOG_LEVEL");
        String wanted = fromEnv == null ? "" : fromEnv.trim().toLowerCase(java.util.Locale.ROOT);
        boolean daemon = Arrays.stream(args)
                .filter(a -> !a.startsWith("-"))
                .findFirst()
                .map(c -> c.equals("run") || c.equals("verifier"))
                .orElse(false);
        String level = debug ? "debug" : levels.contains(wanted) ? wanted : daemon ? "info" : "warn";
        try {
            org.tinylog.configuration.Configuration.set("writer.level", level);
        } catch (UnsupportedOperationException e) {
            // Logging already started (tests run several commands in one JVM): keep its level.
        }
        if (!wanted.isEmpty() && !levels.contains(wanted)) {
            org.tinylog.Logger.warn(
                    "PROSPECTOR_LOG_LEVEL={} is not a log level ({}); logging at {}",
                    fromEnv.trim(),
                    String.join(", ", levels),
                    level);
        }
    }

    /**
     * The command line with {@code fleet} alone: an operator's console starts without picocli
     * reading every other command's model (about half a second of the whole {@code fleet list},
     * docs/BENCHMARKS.md "Fleet console"). A config file's keys that {@code fleet} does not know
     * are checked against every command's options (see {@link #checkKeys}).
     */
    static CommandLine fleetOnly(ProspectorCommand root) {
        CommandLine cli = new CommandLine(root);
        cli.addSubcommand(FleetConsoleCommand.class);
        return cli;
    }

    /** True if the command word (the first argument that is not an option) is {@code fleet}. */
    static boolean isFleet(String[] args) {
        return Arrays.stream(args)
                .filter(a -> !a.startsWith("-"))
                .findFirst()
                .map("fleet"::equals)
                .orElse(false);
    }

    /**
     * Runs the command line and returns the exit code. Errors the user can fix print one line;
     * with {@code --debug} anywhere on the line the stack trace follows.
     */
    public static int execute(String[] args, PrintStream out, PrintStream err) {
        return execute(args, out, err, NETWORK_SIDE);
    }

    /** {@link #execute(String[], PrintStream, PrintStream)} with or without the network side's commands. */
    static int execute(String[] args, PrintStream out, PrintStream err, boolean networkSide) {
        boolean debug = Arrays.asList(args).contains("--debug");
        String[] rest = Arrays.stream(args).filter(a -> !a.equals("--debug")).toArray(String[]::new);
        configureLogging(rest, debug);
        ProspectorCommand root = new ProspectorCommand();
        CommandLine cli = commandLine(root, networkSide, rest);
        try {
            root.config = ConfigFile.find(rest);
            root.config.ifPresent(config -> {
                checkKeys(config, cli, networkSide);
                cli.setDefaultValueProvider(config);
            });
        } catch (Failure e) {
            err.println("prospector: " + e.getMessage());
            return ExitCodes.of(e.kind());
        }
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        cli.setParameterExceptionHandler((ex, a) -> {
            err.println("prospector: " + ex.getMessage());
            if (debug) {
                ex.printStackTrace(err);
            } else {
                err.println("(run with --help for usage)");
            }
            return ExitCodes.BAD_INPUT;
        });
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (ex instanceof Failure user) {
                err.println("prospector: " + user.getMessage());
                if (debug) {
                    ex.printStackTrace(err);
                }
                return ExitCodes.of(user.kind());
            }
            err.println("prospector: internal error: " + ex + (debug ? "" : " (run again with --debug for details)"));
            if (debug) {
                ex.printStackTrace(err);
            }
            return ExitCodes.INTERNAL;
        });
        return cli.execute(rest);
    }

    /**
     * Parses {@code args} again as at start, with the config file as it is now: what a daemon reads
     * when it is asked to reload (SIGHUP). Fails with a {@link Failure} as {@link #execute} would.
     */
    static CommandLine.ParseResult parseAgain(String[] args) {
        String[] rest = Arrays.stream(args).filter(a -> !a.equals("--debug")).toArray(String[]::new);
        return parseWith(rest, ConfigFile.find(rest));
    }

    /** Parses {@code args} with {@code config} in force (a pushed configuration being checked). */
    static CommandLine.ParseResult parseWith(String[] args, Optional<ConfigFile> config) {
        String[] rest = Arrays.stream(args).filter(a -> !a.equals("--debug")).toArray(String[]::new);
        ProspectorCommand root = new ProspectorCommand();
        CommandLine cli = commandLine(root, NETWORK_SIDE, rest);
        root.config = config;
        root.config.ifPresent(c -> {
            checkKeys(c, cli, NETWORK_SIDE);
            cli.setDefaultValueProvider(c);
        });
        try {
            return cli.parseArgs(rest);
        } catch (CommandLine.ParameterException e) {
            throw new Failure(e.getMessage(), Failure.Kind.BAD_INPUT);
        }
    }
}
