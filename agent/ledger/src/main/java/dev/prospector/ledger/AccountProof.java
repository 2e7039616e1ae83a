package dev.prospector.ledger;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Proof that an address has a given account in the state with some root, or has none. Siblings run
 * from the root down; the leaf found at the end of the path is the account itself (inclusion),
 * another account sharing the path (exclusion), or none (exclusion, empty subtree).
 */
public record AccountProof(Address address, Optional<Account> leaf, List<byte[]> siblings) {

    /** The proven account, or empty if the proof shows the address has none. */
    public Optional<Account> account() {
        return leaf.filter(a -> a.address().equals(address));
    }

    /** Recomputes the root from the proof and compares it with {@code stateRoot}. */
    public boolean verify(byte[] stateRoot) {
        byte[] h;
        if (leaf.isEmpty()) {
            h = SparseMerkleTree.EMPTY_HASH;
        } else {
            Account a = leaf.get();
            if (!a.address().equals(address) && !sharesPrefix(a.address(), siblings.size())) {
                return false;
            }
            h = SparseMerkleTree.leafHash(a.address(), a.balance(), a.stake(), a.nonce());
        }
        byte[] key = address.raw();
        for (int d = siblings.size() - 1; d >= 0; d--) {
            int b = (key[d >>> 3] >>> (7 - (d & 7))) & 1;
            h = b == 0 ? SparseMerkleTree.nodeHash(h, siblings.get(d)) : SparseMerkleTree.nodeHash(siblings.get(d), h);
        }
        return Arrays.equals(h, stateRoot);
    }

    private boolean sharesPrefix(Address other, int bits) {
        byte[] a = address.raw();
        byte[] o = other.raw();
        for (int d = 0; d < bits; d++) {
            int m = 1 << (7 - (d & 7));
            if ((a[d >>> 3] & m) != (o[d >>> 3] & m)) {
                return false;
            }
        }
        return true;
    }
}
