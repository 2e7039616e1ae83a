package dev.prospector.agent.cli;

import dev.prospector.agent.common.Failure;
import dev.prospector.agent.dashboard.PasswordHash;
import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code prospector password}: reads a password (asked twice on a terminal, else one line
 * of standard input) and prints the config line with its Argon2id hash. The password itself is
 * never stored.
 */
@Command(
        name = "password",
        mixinStandardHelpOptions = true,
        description = {
            "Hash a password for the dashboard on the LAN.",
            "Prints `dashboard-password-hash = …` for the config file (with dashboard-bind = 0.0.0.0 or a LAN address)."
        })
public final class DashboardPasswordCommand implements Callable<Integer> {
    static final int MIN_LENGTH = 10;
    static final int MAX_LENGTH = 256;

    @Spec
    CommandSpec spec;

    /** Whether standard input is a terminal (from JDK 22 on, System.console() is never null). */
    @SuppressWarnings("SystemConsoleNull")
    private static boolean isTerminal() {
        Console c = System.console();
        if (c == null) {
            return false;
        }
        try {
            return (Boolean) Console.class.getMethod("isTerminal").invoke(c);
        } catch (ReflectiveOperationException e) {
            return true; // before JDK 22 a console means a terminal
        }
    }

    @Override
    @SuppressWarnings("SystemConsoleNull") // isTerminal() covers JDK 22, where a console is always there
    public Integer call() throws IOException {
        char[] password;
        Console console = System.console();
        if (console != null && isTerminal()) {
            password = console.readPassword("dashboard password: ");
            char[] again = console.readPassword("again: ");
            if (password == null || again == null || !Arrays.equals(password, again)) {
                throw new Failure("the two passwords differ: nothing written; run it again");
            }
            Arrays.fill(again, '\0');
        } else {
            String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            password = line == null ? new char[0] : line.toCharArray();
        }
        if (password.length < MIN_LENGTH || password.length > MAX_LENGTH) {
            throw new Failure("a dashboard password has " + MIN_LENGTH + " to " + MAX_LENGTH
                    + " characters; this one has " + password.length);
        }
        String hash = PasswordHash.hash(password);
        Arrays.fill(password, '\0');
        spec.commandLine().getOut().println("dashboard-password-hash = " + hash);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
