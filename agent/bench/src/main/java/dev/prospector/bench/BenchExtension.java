package dev.prospector.bench;

import dev.prospector.agent.cli.ProspectorCommand;

/** Adds {@code prospector bench} when this module's jar is on the class path (a source tree, never a board). */
public final class BenchExtension implements ProspectorCommand.Extension {
    @Override
    public Object command() {
        return new BenchCommand();
    }
}
