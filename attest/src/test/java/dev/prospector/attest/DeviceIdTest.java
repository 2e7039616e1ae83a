package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DeviceIdTest {
    @Test
    void isThePrefixAndBase32OfTheFirst15BytesOfTheKeysSha256() {
        // SHA-256 of 32 zero bytes = 66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925
        // first 15 bytes 66687aadf862bd776c8fc18b8e9f8e in base32 = mzuhvlpymk6xo3epygfy5h4o
        assertEquals("pmzuhvlpymk6xo3epygfy5h4o", DeviceId.of(new byte[32]).value());
    }

    @Test
    void isShortAndSafeInTopicsAndFileNames() {
        for (int i = 0; i < 50; i++) {
            var id = DeviceKeys.generate().deviceId().value();
            assertTrue(id.length() <= 26, id);
            assertTrue(id.matches("[a-z0-9]+"), id);
        }
    }

    @Test
    void refusesTextThatIsNotADeviceId() {
        assertThrows(IllegalArgumentException.class, () -> new DeviceId("pMZUHVLPYMK6XO3EPYGGI5H4O"));
        assertThrows(IllegalArgumentException.class, () -> new DeviceId("p/../etc"));
        assertThrows(IllegalArgumentException.class, () -> DeviceId.of(new byte[31]));
    }
}
