package dev.prospector.agent.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The embedded broker's jars are found beside the program, wherever this module's jar lies. */
class BrokerRuntimeTest {
    @Test
    void fromALibraryJarBesideTheProgramTheBrokerIsInThatLibFolder() {
        assertEquals(
                Path.of("/usr/share/prospector/lib/broker"),
                BrokerRuntime.brokerDirFor(Path.of("/usr/share/prospector/lib/prospector-agent-network-0.1.0.jar")));
        assertEquals(
                Path.of("agent/cli/target/lib/broker"),
                BrokerRuntime.brokerDirFor(Path.of("agent/cli/target/lib/prospector-agent-network-0.1.0.jar")));
    }

    @Test
    void fromClassesTheBrokerIsInTheTargetsLibFolder() {
        assertEquals(
                Path.of("agent/network/target/lib/broker"),
                BrokerRuntime.brokerDirFor(Path.of("agent/network/target/classes")));
    }
}
