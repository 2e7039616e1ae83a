package dev.prospector.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code prospector fleet ...} parses with {@code fleet} alone, and nothing of it changes. */
class FleetOnlyCommandLineTest {
    private static void sameUsage(CommandLine full, CommandLine slim) {
        assertEquals(full.getUsageMessage(CommandLine.Help.Ansi.OFF), slim.getUsageMessage(CommandLine.Help.Ansi.OFF));
        assertEquals(full.getSubcommands().keySet(), slim.getSubcommands().keySet());
        for (String name : full.getSubcommands().keySet()) {
            sameUsage(full.getSubcommands().get(name), slim.getSubcommands().get(name));
        }
    }

    @Test
    void theFleetCommandsAreTheSameWithoutTheOthers() {
        CommandLine full = ProspectorCommand.commandLine(new ProspectorCommand(), false);
        CommandLine slim = ProspectorCommand.fleetOnly(new ProspectorCommand());
        sameUsage(full.getSubcommands().get("fleet"), slim.getSubcommands().get("fleet"));
        assertEquals(java.util.Set.of("fleet"), slim.getSubcommands().keySet());
    }

    @Test
    void onlyTheFleetCommandWordTakesTheShortPath() {
        assertTrue(ProspectorCommand.isFleet(new String[] {"fleet", "list", "--broker", "tcp://b:1883"}));
        assertTrue(ProspectorCommand.isFleet(new String[] {"--debug", "fleet", "list"}));
        assertFalse(ProspectorCommand.isFleet(new String[] {"run", "--fleet", "fleet"}));
        assertFalse(ProspectorCommand.isFleet(new String[] {"help", "fleet"}));
        assertFalse(ProspectorCommand.isFleet(new String[] {}));
    }
}
