package dev.prospector.agent.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The config hash a report claims: SHA-256 over the settings, each followed by a newline. */
class ConfigHashTest {
    @Test
    void theHashIsSha256OfTheSettingsOnePerLine() {
        // Expected values from an independent SHA-256 (Python's hashlib).
        assertEquals(
                "911169ddaaf146aff539f58c26c489af3b892dff0fe283c1c264c65ae5aa59a2",
                HexFormat.of().formatHex(AgentWiring.configHash("a", "b")));
        assertEquals(
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                HexFormat.of().formatHex(AgentWiring.configHash()));
        // UTF-8, and an empty setting still ends its line.
        assertEquals(
                "0274f696852310bd0806bb25c4b6bba8b0eec68f36769d872db742a89ac96b8c",
                HexFormat.of().formatHex(AgentWiring.configHash("\u00e9", "")));
    }
}
