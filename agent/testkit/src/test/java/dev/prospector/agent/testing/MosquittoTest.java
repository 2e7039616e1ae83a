package dev.prospector.agent.testing;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker whose port another broker already holds (another test's, on a machine shared by several
 * builds) fails to start, instead of handing its test the other broker.
 */
class MosquittoTest {
    @TempDir
    Path dir;

    @Test
    void aPortHeldByAnotherBrokerFailsTheStartInsteadOfReachingTheOtherBroker() {
        try (Mosquitto other = Mosquitto.start(dir.resolve("other"))) {
            IllegalStateException e = assertThrows(
                    IllegalStateException.class,
                    () -> Mosquitto.startOn(dir.resolve("ours"), other.port(), "")
                            .close());
            System.out.println("mosquitto on a port another broker holds: " + e.getMessage());
            assertTrue(e.getMessage().contains("exited"), e.getMessage());
        }
    }
}
