package dev.prospector.agent.node;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.attest.ChainState;
import dev.prospector.attest.DeviceKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A long press resets the chain; only a confirmed second long press removes the key. */
class FactoryResetTest {
    @TempDir
    Path dir;

    private void board() throws Exception {
        DeviceKeys.generate().write(dir);
        Files.writeString(dir.resolve(ChainState.FILE), "state");
        Files.writeString(dir.resolve(AgentWiring.OUTBOX_FILE), "outbox");
    }

    @Test
    void resetRemovesChainStateAndOutboxButKeepsTheKey() throws Exception {
        board();
        AgentWiring.factoryResetFiles(dir, false);
        assertFalse(Files.exists(dir.resolve(ChainState.FILE)));
        assertFalse(Files.exists(dir.resolve(AgentWiring.OUTBOX_FILE)));
        assertTrue(Files.exists(dir.resolve(DeviceKeys.PRIVATE_KEY_FILE)), "the device keeps its identity");
    }

    @Test
    void confirmedResetAlsoRemovesTheKey() throws Exception {
        board();
        AgentWiring.factoryResetFiles(dir, true);
        assertFalse(Files.exists(dir.resolve(DeviceKeys.PRIVATE_KEY_FILE)));
        assertFalse(Files.exists(dir.resolve(DeviceKeys.PUBLIC_KEY_FILE)));
    }
}
