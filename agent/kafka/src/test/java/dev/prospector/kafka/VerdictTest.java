package dev.prospector.kafka;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import java.util.HashSet;
import java.util.List;
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
    void theWriterWritesWhatCborObjectWrites() {
        // Seqs and times across every head size, negative seq (unreadable), long texts and bytes.
        long[] numbers = {-1, 0, 23, 24, 255, 256, 65_535, 65_536, 4_294_967_295L, 4_294_967_296L, 1_764_000_000_000L};
        for (long n : numbers) {
            Verdict v = new Verdict("p".repeat(30), n, new byte[300], n % 2 == 0, "reason-" + n, "v".repeat(25));
            byte[] expected = CBORObject.NewOrderedMap()
                    .Add("device", v.device())
                    .Add("seq", v.seq())
                    .Add("hash", v.hash())
                    .Add("outcome", v.accepted() ? "accepted" : "rejected")
                    .Add("reason", v.reason())
                    .Add("verifier", v.verifier())
                    .EncodeToBytes();
            assertArrayEquals(expected, v.encode(), "verdict with " + n);
            DeviceId device = DeviceKeys.generate().deviceId();
            for (Optional<byte[]> prev : List.of(Optional.<byte[]>empty(), Optional.of(new byte[32]))) {
                var e = new Appraiser.AcceptedEntry(
                        device, new byte[32], new byte[16], Math.abs(n), prev, n, new byte[32]);
                CBORObject m = CBORObject.NewOrderedMap()
                        .Add("device", device.value())
                        .Add("key", e.key())
                        .Add("chain", e.chain())
                        .Add("seq", e.seq())
                        .Add("iat", e.iatMillis())
                        .Add("hash", e.hash());
                prev.ifPresent(x -> m.Add("prev", x));
                assertArrayEquals(m.EncodeToBytes(), Verdict.encode(e), "chain entry with " + n);
            }
        }
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
