package dev.prospector.agent.node;

import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.hardware.BoardSelection;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;

/** Settings of an emulated board whose broker is away: nothing listens on its port, so nothing is ever sent. */
final class BrokerAway {
    private BrokerAway() {}

    /** Fleet "f", a report a second, an outbox of 64 KiB, data in {@code dataDir}. */
    static AgentWiring.RunSettings settings(Path dataDir) throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        return new AgentWiring.RunSettings(
                BrokerUrl.parse("tcp://127.0.0.1:" + closedPort),
                "f",
                dataDir,
                BoardSelection.EMULATED,
                Duration.ofSeconds(1),
                64 * 1024,
                1,
                Set.of());
    }
}
