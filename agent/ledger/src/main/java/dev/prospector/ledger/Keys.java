package dev.prospector.ledger;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/** Ed25519 key helpers for tools and tests; production keys come from attest/. */
public final class Keys {
    private Keys() {}

    /** A secret key derived from a seed and an index: reproducible workloads, never real keys. */
    public static byte[] derived(long seed, long index) {
        MessageDigest md = Sha256.newDigest();
        md.update("prospector/ledger/test-key".getBytes(StandardCharsets.US_ASCII));
        byte[] b = new byte[16];
        Bytes.putLong(b, 0, seed);
        Bytes.putLong(b, 8, index);
        return md.digest(b);
    }

    public static Address publicKey(byte[] secretKey) {
        byte[] pk = new byte[Ed25519.PUBLIC_KEY_SIZE];
        Ed25519.generatePublicKey(secretKey, 0, pk, 0);
        return Address.of(pk);
    }
}
