package dev.prospector.attest;

import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Locale;

/**
 * What a measurement endpoint says it measured for a board: a transfer of {@code bytes} in one
 * direction that took {@code duration} by the endpoint's own clock, for the challenge
 * {@code nonce}. Signed by the endpoint's Ed25519 key as a tagged COSE_Sign1 ({@code kid} = the
 * endpoint key's id), and carried by the board in its report (claim {@code pos.bw}). The board
 * cannot inflate the figure: the endpoint counts the bytes and the time itself; it can only move
 * bytes. Payload: {@code {"at": uint ms, "bytes": uint, "dev": tstr, "dir": "down"|"up"|"rtt",
 * "nonce": bstr, "us": uint, "v": 1}}.
 */
public record BandwidthReceipt(
        DeviceId device, byte[] nonce, Direction direction, long bytes, Duration duration, Instant at) {
    public static final int VERSION = 1;
    /** Largest signed receipt a report may carry. */
    public static final int MAX_BYTES = 512;

    /** Which way the bytes went, seen from the board; {@code RTT} is a round trip of no payload. */
    public enum Direction {
        DOWN,
        UP,
        RTT;

        public String code() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Direction of(String code) throws MalformedReportException {
            for (Direction d : values()) {
                if (d.code().equals(code)) {
                    return d;
                }
            }
            throw new MalformedReportException("bandwidth receipt dir is not down, up or rtt");
        }
    }

    public BandwidthReceipt {
        if (nonce.length < 1 || nonce.length > Limits.MAX_NONCE_BYTES) {
            throw new IllegalArgumentException("a nonce has 1 to " + Limits.MAX_NONCE_BYTES + " bytes");
        }
        if (bytes < 0 || duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException("bytes must not be negative and the duration must be positive");
        }
        nonce = nonce.clone();
        duration = Duration.ofNanos(duration.toNanos() / 1000 * 1000);
        if (duration.isZero()) {
            duration = Duration.ofNanos(1000);
        }
        at = Instant.ofEpochMilli(at.toEpochMilli());
    }

    @Override
    public byte[] nonce() {
        return nonce.clone();
    }

    /** Megabits per second (10^6 bit/s); for {@code RTT} 0. */
    public double mbps() {
        return direction == Direction.RTT ? 0 : bytes * 8.0 / (duration.toNanos() / 1000.0);
    }

    public byte[] encode() {
        return Cbor.encode(Cbor.map()
                .put("at", new Cbor.Int(at.toEpochMilli()))
                .put("bytes", new Cbor.Int(bytes))
                .put("dev", new Cbor.Text(device.value()))
                .put("dir", new Cbor.Text(direction.code()))
                .put("nonce", new Cbor.Bytes(nonce))
                .put("us", new Cbor.Int(duration.toNanos() / 1000))
                .put("v", new Cbor.Int(VERSION))
                .build());
    }

    /** Signed by the endpoint's key. */
    public byte[] sign(DeviceKeys endpointKeys) {
        return CoseSign1.sign(endpointKeys.deviceId().kid(), encode(), endpointKeys);
    }

    /** A signed receipt, decoded but not yet checked against a key. */
    public record Opened(BandwidthReceipt receipt, DeviceId endpoint, CoseSign1.Parts parts) {
        /** True if it is signed by {@code publicKey} (whose id must be the kid it names). */
        public boolean signedBy(byte[] publicKey) {
            return DeviceId.of(publicKey).equals(endpoint) && parts.verify(publicKey);
        }
    }

    /** Decodes a signed receipt: its shape, its payload and the endpoint it names. */
    public static Opened open(byte[] signed) throws MalformedReportException {
        if (signed.length > MAX_BYTES) {
            throw new MalformedReportException("bandwidth receipt larger than " + MAX_BYTES + " bytes");
        }
        var parts = CoseSign1.decode(signed);
        String kid = new String(parts.kid(), java.nio.charset.StandardCharsets.US_ASCII);
        if (!DeviceId.isValid(kid)) {
            throw new MalformedReportException("bandwidth receipt kid is not a key id");
        }
        DeviceId endpoint = new DeviceId(kid);
        var m = ServiceEvidence.map(Cbor.decode(parts.payload()), "bandwidth receipt", 7);
        if (ServiceEvidence.uint(m, "v") != VERSION) {
            throw new MalformedReportException("unsupported bandwidth receipt version");
        }
        if (!(m.get("dev").orElse(null) instanceof Cbor.Text dev) || !DeviceId.isValid(dev.value())) {
            throw new MalformedReportException("bandwidth receipt dev is not a device id");
        }
        if (!(m.get("dir").orElse(null) instanceof Cbor.Text dir)) {
            throw new MalformedReportException("bandwidth receipt dir is missing");
        }
        long us = ServiceEvidence.uint(m, "us");
        try {
            return new Opened(
                    new BandwidthReceipt(
                            new DeviceId(dev.value()),
                            ServiceEvidence.bytes(m, "nonce", 1, Limits.MAX_NONCE_BYTES),
                            Direction.of(dir.value()),
                            ServiceEvidence.uint(m, "bytes"),
                            Duration.ofNanos(Math.multiplyExact(us, 1000L)),
                            Instant.ofEpochMilli(ServiceEvidence.uint(m, "at"))),
                    endpoint,
                    parts);
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new MalformedReportException("bandwidth receipt: " + e.getMessage());
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BandwidthReceipt r && Arrays.equals(encode(), r.encode());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(encode());
    }

    @Override
    public String toString() {
        return direction.code() + " " + bytes + " bytes in " + duration.toNanos() / 1000 + " us for " + device;
    }
}
