package dev.prospector.agent.node;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.testing.LocalStack;
import dev.prospector.agent.testing.Mosquitto;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.verifier.VerifierService;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.ClockCheck;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent learns from the verifier's receipts whether its clock is off beyond the window. */
class ClockSanityIT {
    @TempDir
    Path dir;

    private ClockCheck checkWith(Duration skew, String name) {
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto-" + name))) {
            BrokerUrl url = BrokerUrl.parse(broker.url());
            Appraiser appraiser = new Appraiser(AppraiserConfig.defaults()
                    .withFleet("clock")
                    .withAllowEmulated(true)
                    .withClockSkewWindow(Duration.ofMinutes(5)));
            try (VerifierService verifier = LocalStack.verifier(url, "clock", appraiser, "verifier-" + name);
                    AgentNode agent = LocalStack.emulatedBoard(
                            url,
                            "clock",
                            dir.resolve(name),
                            Duration.ofMillis(300),
                            Clock.offset(Clock.systemUTC(), skew),
                            verifier)) {
                verifier.connect();
                agent.start();
                await("a receipt timed")
                        .atMost(Duration.ofSeconds(30))
                        .until(() -> agent.clockCheck().isPresent());
                return agent.clockCheck().get();
            }
        }
    }

    @Test
    void aClockTenMinutesAheadIsReportedAsOutsideTheWindow() {
        ClockCheck check = checkWith(Duration.ofMinutes(10), "ahead");
        assertTrue(check.outsideWindow(), check.describe());
        assertTrue(check.offset().compareTo(Duration.ofMinutes(9)) > 0, check.describe());
        assertTrue(check.describe().contains("timedatectl"), check.describe());
    }

    @Test
    void aCorrectClockIsWithinTheWindow() {
        ClockCheck check = checkWith(Duration.ZERO, "right");
        assertFalse(check.outsideWindow(), check.describe());
        assertTrue(check.offset().abs().compareTo(Duration.ofSeconds(5)) < 0, check.describe());
    }
}
