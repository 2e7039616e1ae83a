package dev.prospector.ledger;

import org.bouncycastle.math.ec.rfc8032.Ed25519;

/** Re-signs a block's header after a test altered its body. */
final class BlockHeaderTestAccess {
    private BlockHeaderTestAccess() {}

    static byte[] resign(byte[] block, byte[] proposerKey) {
        byte[] b = block.clone();
        Ed25519.sign(proposerKey, 0, b, 0, BlockHeader.SIZE, b, b.length - Ed25519.SIGNATURE_SIZE);
        return b;
    }
}
