package dev.prospector.agent;

import dev.prospector.agent.cli.ProspectorCommand;

/** Entry point of the {@code prospector} program. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.exit(ProspectorCommand.execute(args, System.out, System.err));
    }
}
