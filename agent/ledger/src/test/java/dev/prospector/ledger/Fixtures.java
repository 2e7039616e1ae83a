package dev.prospector.ledger;

import java.util.HashMap;
import java.util.Map;

/** A small shard with named actors, for tests that read like specifications. */
final class Fixtures {
    static final long SEED = 42;
    static final long MIN_STAKE = 100;
    static final long START_BALANCE = 10_000;

    final byte[] aliceKey = Keys.derived(SEED, 1);
    final byte[] bobKey = Keys.derived(SEED, 2);
    final byte[] carolKey = Keys.derived(SEED, 3);
    final byte[] validatorKey = Keys.derived(SEED, 10);
    final byte[] rewardKey = Keys.derived(SEED, 99);
    final Address alice = Keys.publicKey(aliceKey);
    final Address bob = Keys.publicKey(bobKey);
    final Address carol = Keys.publicKey(carolKey);
    final Address validator = Keys.publicKey(validatorKey);
    final Address reward = Keys.publicKey(rewardKey);
    final Genesis genesis;
    final ChainBuilder builder;

    Fixtures() {
        this(START_BALANCE);
    }

    Fixtures(long aliceBalance) {
        Address[] who = {alice, bob, carol, validator};
        long[] bal = {aliceBalance, START_BALANCE, START_BALANCE, START_BALANCE};
        long[] stk = {0, 0, 0, 10 * MIN_STAKE};
        byte[] addrs = new byte[who.length * Address.SIZE];
        for (int i = 0; i < who.length; i++) {
            System.arraycopy(who[i].raw(), 0, addrs, i * Address.SIZE, Address.SIZE);
        }
        genesis = new Genesis(new LedgerParams(1, 0, reward, MIN_STAKE), 1_000, addrs, bal, stk);
        Map<Address, byte[]> keys = new HashMap<>();
        keys.put(alice, aliceKey);
        keys.put(bob, bobKey);
        keys.put(carol, carolKey);
        keys.put(validator, validatorKey);
        keys.put(reward, rewardKey);
        try {
            builder = new ChainBuilder(genesis, keys);
        } catch (MalformedException e) {
            throw new IllegalStateException(e);
        }
    }

    Chain freshChain() {
        try {
            return Chain.fromGenesis(genesis);
        } catch (MalformedException e) {
            throw new IllegalStateException(e);
        }
    }

    Tx transfer(byte[] key, long nonce, Address to, long amount) {
        return Tx.sign(TxKind.TRANSFER, 0, key, nonce, to, amount, 1);
    }
}
