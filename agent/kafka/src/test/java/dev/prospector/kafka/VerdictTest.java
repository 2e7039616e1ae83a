package dev.prospector.kafka;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.attest.Appraiser;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The records the Kafka side writes decode to what was written; a device's partition is fixed. */
class VerdictTest {
    @Test
    void aVerdictRoundTrips() {
        Verdict v = new Verdict("pabc", 7, new byte[] {1, 2, 3}, true, "accepted", "v0");
        Verdict back = Verdict.decode(v.encode()).orElseThrow();
        assertEquals(v.device(), back.device());
        assertEquals(7, back.seq());
        assertArrayEquals(v.hash(), back.hash());
        assertTrue(back.accepted());
        assertEquals("v0", back.verifier());
        assertTrue(Verdict.decode(new byte[] {(byte) 0xff, 0}).isEmpty(), "garbage is no verdict");
    }

    @Test
    void aChainEntryRoundTripsWithAndWithoutItsPrev() {
        DeviceId device = DeviceKeys.generate().deviceId();
        for (Optional<byte[]> prev : java.util.List.of(Optional.<byte[]>empty(), Optional.of(new byte[32]))) {
            var e = new Appraiser.AcceptedEntry(device, new byte[32], new byte[16], 42, prev, 1_000L, new byte[32]);
            var back = Verdict.decodeEntry(Verdict.encode(e)).orElseThrow();
            assertEquals(device, back.device());
            assertEquals(42, back.seq());
            assertEquals(1_000L, back.iatMillis());
            assertEquals(prev.isPresent(), back.prev().isPresent());
        }
        assertTrue(Verdict.decodeEntry(new byte[] {1}).isEmpty(), "garbage is skipped");
    }

    @Test
    void aDevicesPartitionIsFixedAndDevicesSpread() {
        Set<Integer> used = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            String device = DeviceKeys.generate().deviceId().value();
            int p = KafkaTopics.partition(device, 12);
            assertTrue(p >= 0 && p < 12);
            assertEquals(p, KafkaTopics.partition(device, 12), "the same every time");
            used.add(p);
        }
        assertEquals(12, used.size(), "200 devices reach every one of 12 partitions");
    }
}
