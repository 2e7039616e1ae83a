package dev.prospector.bench;

import dev.prospector.agent.cli.*;
import dev.prospector.ledger.*;

import dev.prospector.agent.cli.LedgerCommand;
import dev.prospector.agent.cli.UserError;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Runs the ledger commands before they are registered in {@code prospector}:
 * {@code LedgerTool ledger gen|validate|balance ...} and {@code LedgerTool bench executor ...}.
 */
@Command(name = "ledger-tool", mixinStandardHelpOptions = true, subcommands = {LedgerCommand.class, LedgerTool.Bench.class})
public final class LedgerTool implements Runnable {

    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }

    /** Stands in for {@code prospector bench}. */
    @Command(name = "bench", subcommands = BenchExecutorCommand.class)
    static final class Bench implements Runnable {
        @Override
        public void run() {
            CommandLine.usage(this, System.out);
        }
    }

    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new LedgerTool());
        cli.setExecutionExceptionHandler((ex, c, p) -> {
            if (ex instanceof UserError u) {
                System.err.println("prospector: " + u.getMessage());
                return u.exitCode();
            }
            throw ex;
        });
        System.exit(cli.execute(args));
    }
}
