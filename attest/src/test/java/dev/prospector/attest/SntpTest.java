package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class SntpTest {
    private static final Duration WINDOW = Limits.CLOCK_SKEW_WINDOW;

    /** What a server whose clock is {@code serverAhead} ahead of the device answers, after {@code oneWay} each way. */
    private static byte[] answer(byte[] request, Instant t1, Duration serverAhead, Duration oneWay, Duration processing) {
        byte[] p = new byte[Sntp.PACKET_BYTES];
        p[0] = (byte) ((0 << 6) | (4 << 3) | 4);
        p[1] = 2; // stratum
        System.arraycopy(request, 40, p, 24, 8);
        Instant t2 = t1.plus(oneWay).plus(serverAhead);
        var b = ByteBuffer.wrap(p);
        b.putLong(32, Sntp.toNtp(t2));
        b.putLong(40, Sntp.toNtp(t2.plus(processing)));
        return p;
    }

    @Test
    void ntpTimestampsRoundTripToTheMicrosecond() {
        Instant t = Instant.parse("2026-11-26T09:00:00.123456789Z");
        Instant back = Sntp.fromNtp(Sntp.toNtp(t));
        assertTrue(Duration.between(t, back).abs().toNanos() < 1_000, back.toString());
    }

    @Test
    void aDeviceClockBehindTheServerShowsANegativeOffset() {
        Instant t1 = Instant.parse("2026-11-26T09:00:00Z");
        byte[] req = Sntp.request(t1);
        Duration oneWay = Duration.ofMillis(20);
        byte[] resp = answer(req, t1, Duration.ofMinutes(7), oneWay, Duration.ofMillis(1));
        Instant t4 = t1.plus(oneWay).plusMillis(1).plus(oneWay);
        var check = Sntp.check(req, resp, t4, WINDOW);
        assertTrue(Duration.ofMinutes(-7).minus(check.offset()).abs().toMillis() <= 1, check.offset().toString());
        assertTrue(check.outsideWindow());
        assertTrue(check.describe("pool.ntp.org").contains("behind pool.ntp.org"), check.describe("pool.ntp.org"));
    }

    @Test
    void aSynchronisedClockIsWithinTheWindow() {
        Instant t1 = Instant.parse("2026-11-26T09:00:00Z");
        byte[] req = Sntp.request(t1);
        byte[] resp = answer(req, t1, Duration.ofMillis(40), Duration.ofMillis(15), Duration.ZERO);
        var check = Sntp.check(req, resp, t1.plusMillis(30), WINDOW);
        assertTrue(Duration.ofMillis(-40).minus(check.offset()).abs().toMillis() <= 1, check.offset().toString());
        assertFalse(check.outsideWindow());
    }

    @Test
    void anAnswerToAnotherRequestIsRefused() {
        Instant t1 = Instant.parse("2026-11-26T09:00:00Z");
        byte[] resp = answer(Sntp.request(t1.minusSeconds(1)), t1, Duration.ZERO, Duration.ZERO, Duration.ZERO);
        var e = assertThrows(IllegalArgumentException.class, () -> Sntp.check(Sntp.request(t1), resp, t1, WINDOW));
        assertTrue(e.getMessage().contains("originate"), e.getMessage());
    }

    @Test
    void anUnsynchronisedOrNonServerAnswerIsRefused() {
        Instant t1 = Instant.parse("2026-11-26T09:00:00Z");
        byte[] req = Sntp.request(t1);
        byte[] kiss = answer(req, t1, Duration.ZERO, Duration.ZERO, Duration.ZERO);
        kiss[1] = 0; // stratum 0: kiss-o'-death
        assertThrows(IllegalArgumentException.class, () -> Sntp.check(req, kiss, t1, WINDOW));
        byte[] client = answer(req, t1, Duration.ZERO, Duration.ZERO, Duration.ZERO);
        client[0] = (byte) ((4 << 3) | 3);
        assertThrows(IllegalArgumentException.class, () -> Sntp.check(req, client, t1, WINDOW));
        assertThrows(IllegalArgumentException.class, () -> Sntp.check(req, new byte[12], t1, WINDOW));
    }

    @Test
    void theRequestIsAVersion4ClientPacketCarryingItsSendTime() {
        Instant t1 = Instant.parse("2026-11-26T09:00:00Z");
        byte[] req = Sntp.request(t1);
        assertEquals(48, req.length);
        assertEquals(0x23, req[0] & 0xff);
        assertEquals(t1, Sntp.fromNtp(ByteBuffer.wrap(req).getLong(40)));
    }
}
