package dev.prospector.agent.verifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Which verifier owns a device is fixed by the device id alone: every verifier must agree. */
class PartitioningTest {
    @Test
    void theOwnerIsTheFirstFourBytesOfTheDeviceIdsSha256ModuloTheCount() {
        // Expected values from an independent SHA-256 (Python's hashlib); dev-e's first four
        // bytes (4125855715) do not fit an int, so they must be read unsigned.
        assertEquals(34, new Partitioning("g", 0, 256).owner("dev-a"));
        assertEquals(2, new Partitioning("g", 0, 3).owner("dev-b"));
        assertEquals(1, new Partitioning("g", 0, 2).owner("dev-d"));
        assertEquals(227, new Partitioning("g", 0, 256).owner("dev-e"));
        assertEquals(0, new Partitioning("g", 0, 3).owner("dev-f"));
        assertEquals(0, new Partitioning("g", 0, 1).owner("dev-a"));
    }

    @Test
    void aVerifierOwnsTheDevicesOfItsPartitionOnly() {
        assertTrue(new Partitioning("g", 1, 2).owns("dev-d"));
        assertFalse(new Partitioning("g", 0, 2).owns("dev-d"));
    }
}
