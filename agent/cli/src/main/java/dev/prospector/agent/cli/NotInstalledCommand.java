package dev.prospector.agent.cli;

import dev.prospector.agent.common.Failure;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * Stands in for a command of the network side ({@code verifier}, {@code measure}) where its jar is not
 * installed, as on a board from the Debian package: whatever the arguments, it fails with one line
 * that says where the command comes from (exit 2: a restart cannot help).
 */
@Command(description = "Not installed here: it comes with the prospector-network package.")
final class NotInstalledCommand implements Callable<Integer> {
    private final String name;

    /** Every argument, options too: none of them matters. */
    @Parameters(arity = "0..*", hidden = true)
    List<String> ignored = new ArrayList<>();

    private NotInstalledCommand(String name) {
        this.name = name;
    }

    /** The stand-in for {@code name}, taking any arguments. */
    static CommandLine commandLine(String name) {
        CommandLine cli = new CommandLine(new NotInstalledCommand(name));
        cli.setUnmatchedOptionsArePositionalParams(true);
        return cli;
    }

    @Override
    public Integer call() {
        throw new Failure("`" + name + "` is the network side, which is not installed here: install the"
                + " prospector-network package (or run it from a source tree)");
    }
}
