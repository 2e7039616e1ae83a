package dev.prospector.agent.node;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.pi4j.io.gpio.digital.DigitalInput;
import com.pi4j.io.gpio.digital.DigitalState;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalInput;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.hardware.BoardConfig;
import dev.prospector.hardware.BoardSelection;
import dev.prospector.hardware.io.BoardIo;
import dev.prospector.hardware.io.ButtonConfig;
import dev.prospector.hardware.io.IoConfig;
import dev.prospector.hardware.io.LedPattern;
import dev.prospector.hardware.io.StatusLed;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent drives the status LED and answers the button, through Pi4J's mock platform. */
class BoardIoWiringIT {
    @TempDir
    Path dir;

    @Test
    void ledFollowsTheConnectionAndAShortPressSendsAReportNow() {
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"))) {
            var settings = new AgentWiring.RunSettings(
                    BrokerUrl.parse(broker.url()),
                    "io",
                    dir.resolve("board"),
                    BoardConfig.defaults(dir.resolve("board")).withSelection(BoardSelection.EMULATED),
                    new IoConfig(Optional.of(17), true, Optional.of(ButtonConfig.of(27))),
                    Duration.ofMinutes(10),
                    AgentWiring.DEFAULT_OUTBOX_BYTES,
                    Optional.empty());
            try (AgentNode node = AgentWiring.agent(settings, Clock.systemUTC())) {
                BoardIo io = node.boardIo().orElseThrow();
                StatusLed led = io.led().orElseThrow();
                node.start();
                await("LED shows connected")
                        .atMost(Duration.ofSeconds(30))
                        .until(() -> led.pattern() == LedPattern.CONNECTED);

                long before = node.stats().made();
                MockDigitalInput button = (MockDigitalInput) io.context().registry().all().values().stream()
                        .filter(DigitalInput.class::isInstance)
                        .findFirst()
                        .orElseThrow();
                button.mockState(DigitalState.LOW); // pressed (pulled up, active low)
                await("press seen")
                        .atMost(Duration.ofSeconds(5))
                        .until(() -> io.button().orElseThrow().isPressed());
                button.mockState(DigitalState.HIGH);
                await("a report made by the button")
                        .atMost(Duration.ofSeconds(10))
                        .until(() -> node.stats().made() > before);

                broker.stop();
                await("LED shows the lost broker")
                        .atMost(Duration.ofSeconds(30))
                        .until(() -> led.pattern() == LedPattern.ERROR);
                assertTrue(node.stats().made() >= 2);
            }
        }
    }
}
