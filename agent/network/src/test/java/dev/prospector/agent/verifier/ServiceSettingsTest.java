package dev.prospector.agent.verifier;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every wither keeps the settings it does not change, the epoch origin too. */
class ServiceSettingsTest {
    @Test
    void everyWitherKeepsTheEpochOrigin() {
        Instant origin = Instant.ofEpochMilli(1_700_000_123_456L);
        ServiceSettings s = ServiceSettings.defaults().withEpochOrigin(origin);
        List<ServiceSettings> changed = List.of(
                s.withAudits(Duration.ofMinutes(30), 4, Duration.ofSeconds(3)),
                s.withBandwidthEvery(Duration.ofHours(2)),
                s.withTrustedEndpoints(List.of(new byte[32])),
                s.withMeasurePort(9000, "0.0.0.0"),
                s.withEpoch(Duration.ofMinutes(10)),
                s.withStorageTarget(1L << 20));
        for (ServiceSettings c : changed) {
            assertEquals(origin, c.epochOrigin(), c.toString());
        }
    }
}
