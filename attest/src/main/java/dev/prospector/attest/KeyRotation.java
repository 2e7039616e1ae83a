package dev.prospector.attest;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

/**
 * A key rotation statement: a COSE_Sign1 signed by the device's old key whose payload names the
 * new key. Payload (deterministic CBOR map):
 * {@code {"v": 1, "dev": tstr, "n": uint, "old": bstr(32), "new": bstr(32), "iat": uint ms}}.
 * {@code n} counts rotations from 1. The statements of a device form a chain: the first one's
 * {@code old} key gives the device id, each one's {@code new} is the next one's {@code old}.
 */
public record KeyRotation(byte[] bytes, DeviceId device, long number, byte[] oldKey, byte[] newKey, Instant iat) {
    public static final int VERSION = 1;

    static KeyRotation sign(DeviceKeys oldKeys, byte[] newKey, long number, Instant at) {
        byte[] oldKey = oldKeys.publicKey();
        var payload = Cbor.encode(Cbor.map()
                .put("v", new Cbor.Int(VERSION))
                .put("dev", new Cbor.Text(oldKeys.deviceId().value()))
                .put("n", new Cbor.Int(number))
                .put("old", new Cbor.Bytes(oldKey))
                .put("new", new Cbor.Bytes(newKey))
                .put("iat", new Cbor.Int(at.toEpochMilli()))
                .build());
        byte[] bytes = CoseSign1.sign(oldKeys.deviceId().kid(), payload, oldKeys);
        return new KeyRotation(
                bytes, oldKeys.deviceId(), number, oldKey, newKey.clone(), Instant.ofEpochMilli(at.toEpochMilli()));
    }

    /** Decodes a statement; its signature is checked by {@link #verifySignature()}. */
    public static KeyRotation decode(byte[] bytes) throws MalformedReportException {
        var parts = CoseSign1.decode(bytes);
        if (!(Cbor.decode(parts.payload()) instanceof Cbor.MapValue m)
                || m.entries().size() != 6) {
            throw new MalformedReportException("key rotation payload is not a map of v, dev, n, old, new, iat");
        }
        if (Claims.uint(m, "v") != VERSION) {
            throw new MalformedReportException("key rotation version is not " + VERSION);
        }
        String dev = Claims.text(m, "dev");
        if (!DeviceId.isValid(dev) || !Arrays.equals(parts.kid(), dev.getBytes(StandardCharsets.US_ASCII))) {
            throw new MalformedReportException("key rotation dev is not a device id equal to its kid");
        }
        long n = Claims.uint(m, "n");
        byte[] oldKey = Claims.bytes(m, "old", 32, 32);
        byte[] newKey = Claims.bytes(m, "new", 32, 32);
        long iat = Claims.uint(m, "iat");
        if (n < 1) {
            throw new MalformedReportException("key rotation number must be at least 1");
        }
        return new KeyRotation(bytes, new DeviceId(dev), n, oldKey, newKey, Instant.ofEpochMilli(iat));
    }

    /** True if the statement is signed by the key it rotates from. */
    public boolean verifySignature() {
        try {
            return CoseSign1.decode(bytes).verify(oldKey);
        } catch (MalformedReportException e) {
            return false; // cannot happen: bytes were decoded before
        }
    }

    /**
     * Checks that {@code rotations} form one chain: numbered 1, 2, ..., the first's old key hashing
     * to its device id, each one's new key being the next one's old key.
     */
    public static void checkChain(List<KeyRotation> rotations) throws MalformedReportException {
        if (rotations.size() > Limits.MAX_ROTATIONS) {
            throw new MalformedReportException("more than " + Limits.MAX_ROTATIONS + " key rotations");
        }
        for (int i = 0; i < rotations.size(); i++) {
            var r = rotations.get(i);
            if (r.number() != i + 1) {
                throw new MalformedReportException("key rotation " + (i + 1) + " is numbered " + r.number());
            }
            if (i == 0 && !DeviceId.of(r.oldKey()).equals(r.device())) {
                throw new MalformedReportException(
                        "first key rotation does not start from the key of device " + r.device());
            }
            if (i > 0) {
                var prev = rotations.get(i - 1);
                if (!r.device().equals(prev.device()) || !Arrays.equals(prev.newKey(), r.oldKey())) {
                    throw new MalformedReportException(
                            "key rotation " + (i + 1) + " does not continue from rotation " + i);
                }
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyRotation k && Arrays.equals(bytes, k.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "KeyRotation[device=" + device + ", n=" + number + ", new=" + Hex.encode(newKey) + "]";
    }
}
