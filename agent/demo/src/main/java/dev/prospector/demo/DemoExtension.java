package dev.prospector.demo;

import dev.prospector.agent.cli.ProspectorCommand;

/**
 * Adds {@code prospector demo} when this module's jar is on the class path: a source tree, or the
 * network side's install, never a board (it carries the embedded broker's loader).
 */
public final class DemoExtension implements ProspectorCommand.Extension {
    @Override
    public Object command() {
        return new DemoCommand();
    }
}
