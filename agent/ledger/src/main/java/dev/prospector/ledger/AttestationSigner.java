package dev.prospector.ledger;

import org.bouncycastle.math.ec.rfc8032.Ed25519;

/** Signs attestations as this device; the lead wires the board's own key (from attest/). */
public interface AttestationSigner {

    /** The device's Ed25519 public key. */
    Address device();

    /** Ed25519 signature (64 bytes) over the message. */
    byte[] sign(byte[] message);

    /** A signer over a raw 32-byte Ed25519 secret key. */
    static AttestationSigner ed25519(byte[] secretKey) {
        byte[] sk = secretKey.clone();
        byte[] pk = new byte[Ed25519.PUBLIC_KEY_SIZE];
        Ed25519.generatePublicKey(sk, 0, pk, 0);
        Address device = Address.of(pk);
        return new AttestationSigner() {
            @Override
            public Address device() {
                return device;
            }

            @Override
            public byte[] sign(byte[] message) {
                byte[] sig = new byte[Ed25519.SIGNATURE_SIZE];
                Ed25519.sign(sk, 0, message, 0, message.length, sig, 0);
                return sig;
            }
        };
    }
}
