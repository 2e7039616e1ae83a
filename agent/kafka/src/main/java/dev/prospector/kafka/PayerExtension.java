package dev.prospector.kafka;

import dev.prospector.agent.cli.ProspectorCommand;

/** Adds {@code prospector payer} when this module's jar is on the class path (never on a board). */
public final class PayerExtension implements ProspectorCommand.Extension {
    @Override
    public Object command() {
        return new PayerCommand();
    }
}
