package dev.prospector.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;

class SparseMerkleTreeTest {
    private final Random random = new Random(7);

    private Address randomAddress() {
        byte[] b = new byte[32];
        random.nextBytes(b);
        return Address.of(b);
    }

    private List<Address> addresses(int n) {
        List<Address> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(randomAddress());
        }
        return out;
    }

    private static ShardState stateOf(List<Address> as) {
        ShardState s = new ShardState(as.size(), 1);
        for (int i = 0; i < as.size(); i++) {
            s.add(as.get(i), i * 10L, i, 0);
        }
        return s;
    }

    @Test
    void anEmptyTreeHasTheZeroRoot() {
        assertArrayEquals(new byte[32], new ShardState(0, 1).root(null));
    }

    @Test
    void aSingleAccountTreeHasItsLeafHashAsRoot() {
        Address a = randomAddress();
        ShardState s = new ShardState(1, 1);
        s.add(a, 5, 6, 7);
        assertArrayEquals(SparseMerkleTree.leafHash(a, 5, 6, 7), s.root(null));
    }

    @Test
    void theRootDependsOnTheAccountsNotOnInsertionOrder() {
        List<Address> as = addresses(500);
        ShardState s1 = new ShardState(500, 1);
        for (Address a : as) {
            s1.add(a, a.hashCode() & 0xffff, 0, 0);
        }
        List<Address> shuffled = new ArrayList<>(as);
        Collections.shuffle(shuffled, random);
        ShardState s2 = new ShardState(10, 1);
        for (Address a : shuffled) {
            s2.add(a, a.hashCode() & 0xffff, 0, 0);
        }
        assertArrayEquals(s1.root(null), s2.root(null));
    }

    @Test
    void incrementalUpdatesGiveTheRootOfATreeBuiltFromScratch() {
        List<Address> as = addresses(2_000);
        ShardState s = stateOf(as);
        s.root(null);
        for (int i = 0; i < 300; i++) {
            int k = random.nextInt(as.size());
            s.set(k, 1_000 + i, 3, 9);
        }
        ShardState rebuilt = new ShardState(as.size(), 1);
        for (int i = 0; i < as.size(); i++) {
            rebuilt.add(as.get(i), s.balance[i], s.stake[i], s.nonce[i]);
        }
        assertArrayEquals(rebuilt.root(null), s.root(null));
    }

    @Test
    void theParallelRehashEqualsTheSequentialOne() {
        List<Address> as = addresses(5_000);
        ShardState a = stateOf(as);
        ShardState b = stateOf(as);
        ForkJoinPool pool = new ForkJoinPool(4);
        try {
            assertArrayEquals(a.root(null), b.root(pool));
            for (int i = 0; i < 1_000; i++) {
                int k = random.nextInt(as.size());
                a.set(k, i, 0, 1);
                b.set(k, i, 0, 1);
            }
            assertArrayEquals(a.root(null), b.root(pool));
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void removingTheLastAccountsRestoresTheEarlierRoot() {
        List<Address> as = addresses(300);
        ShardState s = stateOf(as);
        byte[] before = s.root(null);
        for (int i = 0; i < 20; i++) {
            s.add(randomAddress(), 1, 1, 1);
        }
        s.root(null);
        for (int i = 0; i < 20; i++) {
            s.removeLast();
        }
        assertArrayEquals(before, s.root(null));
        for (Address a : as) {
            assertTrue(s.account(a).isPresent(), "every earlier account is still found");
        }
    }

    @Test
    void aProofOfAnAccountVerifiesAgainstTheRootAndShowsItsBalance() {
        List<Address> as = addresses(1_000);
        ShardState s = stateOf(as);
        byte[] root = s.root(null);
        AccountProof p = s.prove(as.get(123), null);
        assertTrue(p.verify(root));
        assertEquals(1230, p.account().orElseThrow().balance());
    }

    @Test
    void aProofOfAnAbsentAddressShowsNoAccountAndVerifies() {
        ShardState s = stateOf(addresses(1_000));
        byte[] root = s.root(null);
        AccountProof p = s.prove(randomAddress(), null);
        assertTrue(p.account().isEmpty());
        assertTrue(p.verify(root));
    }

    @Test
    void aProofWithAnAlteredBalanceOrAnotherRootFails() {
        List<Address> as = addresses(100);
        ShardState s = stateOf(as);
        byte[] root = s.root(null);
        AccountProof p = s.prove(as.get(5), null);
        Account a = p.leaf().orElseThrow();
        AccountProof forged = new AccountProof(
                p.address(),
                java.util.Optional.of(new Account(a.address(), a.balance() + 1, a.stake(), a.nonce())),
                p.siblings());
        assertFalse(forged.verify(root));
        byte[] other = root.clone();
        other[0] ^= 1;
        assertFalse(p.verify(other));
    }

    @Test
    void proofsWorkForTreesOfOneAndTwoAccounts() {
        List<Address> as = addresses(2);
        ShardState one = stateOf(as.subList(0, 1));
        assertTrue(one.prove(as.get(0), null).verify(one.root(null)));
        assertTrue(one.prove(as.get(1), null).verify(one.root(null)));
        ShardState two = stateOf(as);
        assertTrue(two.prove(as.get(1), null).verify(two.root(null)));
    }
}
