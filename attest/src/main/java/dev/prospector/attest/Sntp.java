package dev.prospector.attest;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;

/**
 * The two packets of an SNTP exchange (RFC 4330) as pure functions, so the agent can measure its
 * clock against an NTP server with one UDP datagram each way and report it as a
 * {@link ClockCheck}. The socket lives in the agent; this class does no I/O.
 *
 * <p>Offset: with T1 = request sent (device clock), T2 = received by the server, T3 = answer sent
 * by the server, T4 = answer received (device clock), the server is ahead of the device by
 * ((T2 - T1) + (T3 - T4)) / 2, with an error of at most half the round trip.
 */
public final class Sntp {
    /** Size of an NTP packet without extensions. */
    public static final int PACKET_BYTES = 48;
    /** The UDP port of NTP. */
    public static final int PORT = 123;

    /** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01. */
    private static final long NTP_TO_UNIX_SECONDS = 2_208_988_800L;

    private Sntp() {}

    /** A client request (version 4, mode 3) whose transmit timestamp is {@code t1}. */
    public static byte[] request(Instant t1) {
        byte[] p = new byte[PACKET_BYTES];
        p[0] = (byte) ((0 << 6) | (4 << 3) | 3); // LI 0, VN 4, mode 3 (client)
        ByteBuffer.wrap(p).putLong(40, toNtp(t1));
        return p;
    }

    /**
     * Checks a server's answer to {@code request} and returns the device's clock offset.
     *
     * @param request  the bytes sent (their transmit timestamp must come back as the originate timestamp)
     * @param response the bytes received
     * @param t4       when the response was received, by the device clock
     * @param window   the verifier's clock-skew window, for {@link ClockCheck#outsideWindow()}
     * @throws IllegalArgumentException naming what is wrong with the answer (not a server reply,
     *                                  unsynchronised server, not an answer to this request)
     */
    public static ClockCheck check(byte[] request, byte[] response, Instant t4, Duration window) {
        if (response.length < PACKET_BYTES) {
            throw new IllegalArgumentException("NTP answer of " + response.length + " bytes is shorter than " + PACKET_BYTES);
        }
        int mode = response[0] & 0x7;
        int leap = (response[0] >>> 6) & 0x3;
        int stratum = response[1] & 0xff;
        if (mode != 4 && mode != 5) {
            throw new IllegalArgumentException("NTP answer is not from a server (mode " + mode + ")");
        }
        if (leap == 3 || stratum == 0 || stratum > 15) {
            throw new IllegalArgumentException("NTP server is not synchronised (leap " + leap + ", stratum " + stratum + ")");
        }
        if (!Arrays.equals(response, 24, 32, request, 40, 48)) {
            throw new IllegalArgumentException("NTP answer does not answer this request (originate timestamp differs)");
        }
        var b = ByteBuffer.wrap(response);
        Instant t1 = fromNtp(b.getLong(24));
        Instant t2 = fromNtp(b.getLong(32));
        Instant t3 = fromNtp(b.getLong(40));
        // The server is ahead of the device by theta; the device is ahead by -theta.
        Duration theta = Duration.between(t1, t2).plus(Duration.between(t4, t3)).dividedBy(2);
        return new ClockCheck(theta.negated(), window);
    }

    /** An instant as a 64-bit NTP timestamp (32.32 fixed point seconds since 1900, era 0). */
    static long toNtp(Instant t) {
        long seconds = t.getEpochSecond() + NTP_TO_UNIX_SECONDS;
        long fraction = ((long) t.getNano() << 32) / 1_000_000_000L;
        return (seconds << 32) | fraction;
    }

    /** A 64-bit NTP timestamp (era 0, until 2036) as an instant. */
    static Instant fromNtp(long ntp) {
        long seconds = (ntp >>> 32) - NTP_TO_UNIX_SECONDS;
        long nanos = ((ntp & 0xffffffffL) * 1_000_000_000L) >>> 32;
        return Instant.ofEpochSecond(seconds, nanos);
    }
}
