package dev.prospector.agent.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The top-level {@code prospector} command: wires every subcommand and the error policy. */
@Command(
        name = "prospector",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        description = "Proof-of-service agent for Raspberry Pi and ARM boards.",
        subcommands = {
            CommandLine.HelpCommand.class,
        })
public final class ProspectorCommand implements Runnable {

    @Override
    public void run() {
        throw new CommandLine.ParameterException(
                new CommandLine(this), "missing command: run `prospector --help` to list them");
    }

    /**
     * Runs the command line and returns the exit code. Errors the user can fix print one line;
     * with {@code --debug} anywhere on the line the stack trace follows.
     */
    public static int execute(String[] args, PrintStream out, PrintStream err) {
        boolean debug = Arrays.asList(args).contains("--debug");
        String[] rest = Arrays.stream(args).filter(a -> !a.equals("--debug")).toArray(String[]::new);
        CommandLine cli = new CommandLine(new ProspectorCommand());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        cli.setParameterExceptionHandler((ex, a) -> {
            err.println("prospector: " + ex.getMessage());
            if (debug) {
                ex.printStackTrace(err);
            } else {
                err.println("(run with --help for usage)");
            }
            return UserError.BAD_INPUT;
        });
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (ex instanceof UserError user) {
                err.println("prospector: " + user.getMessage());
                if (debug) {
                    ex.printStackTrace(err);
                }
                return user.exitCode();
            }
            err.println("prospector: internal error: " + ex
                    + (debug ? "" : " (run again with --debug for details)"));
            if (debug) {
                ex.printStackTrace(err);
            }
            return 70;
        });
        return cli.execute(rest);
    }
}
