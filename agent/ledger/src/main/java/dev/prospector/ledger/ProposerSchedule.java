package dev.prospector.ledger;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;

/**
 * Who may propose the block at a height: one validator drawn with probability proportional to its
 * stake, from the validator set of the parent state, by a seed that is the SHA-256 of the parent
 * hash and the height. Everyone with the same parent state draws the same proposer; nobody can
 * steer the draw without rewriting the parent block. (Modulo bias of a 64-bit draw over the total
 * stake is below 2^-63 * total and ignored.)
 */
public final class ProposerSchedule {
    private static final byte[] DOMAIN = "prospector/ledger/proposer/v1".getBytes(StandardCharsets.US_ASCII);

    private ProposerSchedule() {}

    public static Optional<Address> proposer(NavigableMap<Address, Long> validators, byte[] parentHash, long height) {
        long total = 0;
        for (long s : validators.values()) {
            total = Math.addExact(total, s);
        }
        if (total == 0) {
            return Optional.empty();
        }
        MessageDigest md = Sha256.newDigest();
        md.update(DOMAIN);
        md.update(parentHash);
        byte[] h = new byte[8];
        Bytes.putLong(h, 0, height);
        md.update(h);
        long draw = Long.remainderUnsigned(Bytes.getLong(md.digest(), 0), total);
        for (Map.Entry<Address, Long> e : validators.entrySet()) {
            draw -= e.getValue();
            if (draw < 0) {
                return Optional.of(e.getKey());
            }
        }
        throw new IllegalStateException("unreachable: draw beyond total stake");
    }
}
