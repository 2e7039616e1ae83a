package dev.prospector.attest;

import java.nio.charset.StandardCharsets;

/**
 * A device's identity: {@code "p"} followed by the lowercase RFC 4648 base32 (no padding) of the
 * first 15 bytes of SHA-256 over the raw 32-byte Ed25519 public key of the device's first key.
 * 25 characters of {@code [a-z2-7]}: safe in MQTT topics, file names and URLs. It stays the same
 * when the device rotates its key.
 */
public record DeviceId(String value) {
    /** Prefix that makes an id recognisable and never start with a digit. */
    public static final String PREFIX = "p";
    /** Hash bytes kept: 120 bits, collision-resistant for any fleet size. */
    public static final int HASH_BYTES = 15;
    /** Length of the text form. */
    public static final int LENGTH = PREFIX.length() + HASH_BYTES * 8 / 5;

    private static final char[] BASE32 = "abcdefghijklmnopqrstuvwxyz234567".toCharArray();

    public DeviceId {
        if (!isValid(value)) {
            throw new IllegalArgumentException("not a device id (expected 'p' and 24 of [a-z2-7]): " + value);
        }
    }

    /** Parses a device id, for example from a registry file or a topic. */
    public static DeviceId parse(String text) {
        return new DeviceId(text.trim());
    }

    /** True if {@code text} is a well-formed device id. */
    public static boolean isValid(String text) {
        if (text == null || text.length() != LENGTH || !text.startsWith(PREFIX)) {
            return false;
        }
        for (int i = PREFIX.length(); i < LENGTH; i++) {
            char c = text.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'))) {
                return false;
            }
        }
        return true;
    }

    /** The id of the device whose first key is {@code rawPublicKey} (32 bytes). */
    public static DeviceId of(byte[] rawPublicKey) {
        if (rawPublicKey.length != 32) {
            throw new IllegalArgumentException("an Ed25519 public key has 32 bytes, not " + rawPublicKey.length);
        }
        // Every report's decoding derives its device's id from the key: remember recent ones (a
        // lossy table shared by all threads; entries are immutable, a race just recomputes).
        int slot = (rawPublicKey[0] & 0xff | (rawPublicKey[1] & 0xff) << 8) & (RECENT.length - 1);
        Known known = RECENT[slot];
        if (known != null && java.util.Arrays.equals(known.key, rawPublicKey)) {
            return known.id;
        }
        DeviceId id = compute(rawPublicKey);
        RECENT[slot] = new Known(rawPublicKey.clone(), id);
        return id;
    }

    private record Known(byte[] key, DeviceId id) {}

    private static final Known[] RECENT = new Known[1024];

    private static DeviceId compute(byte[] rawPublicKey) {
        byte[] h = Sha256.of(rawPublicKey);
        var sb = new StringBuilder(LENGTH).append(PREFIX);
        // 15 bytes = 3 groups of 5 bytes = 3 x 8 base32 characters, no padding.
        for (int g = 0; g < HASH_BYTES; g += 5) {
            long bits = 0;
            for (int i = 0; i < 5; i++) {
                bits = (bits << 8) | (h[g + i] & 0xff);
            }
            for (int s = 35; s >= 0; s -= 5) {
                sb.append(BASE32[(int) (bits >>> s) & 31]);
            }
        }
        return new DeviceId(sb.toString());
    }

    /** True if {@code kid} is this id's ASCII bytes (without building them). */
    public boolean matchesKid(byte[] kid) {
        if (kid.length != value.length()) {
            return false;
        }
        for (int i = 0; i < kid.length; i++) {
            if (kid[i] != value.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** The {@code kid} of the report's protected header: the id's ASCII bytes. */
    public byte[] kid() {
        return value.getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public String toString() {
        return value;
    }
}
