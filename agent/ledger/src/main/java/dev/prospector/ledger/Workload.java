package dev.prospector.ledger;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * A reproducible genesis and chain of transfer blocks for {@code ledger gen} and the benchmark.
 * Contention c in [0, 1]: each transfer pays the one hot account with probability c, otherwise a
 * uniformly drawn account; so 0 is "almost no conflicts" and 1 is "every transaction touches one
 * account". Senders hold keys derived from the seed; the first {@link #VALIDATORS} also stake.
 */
public final class Workload {
    public static final int VALIDATORS = 4;
    public static final long MIN_VALIDATOR_STAKE = 1_000;
    /** Balance of every sender: never the limit in generated blocks. */
    static final long SENDER_BALANCE = 1_000_000_000_000L;

    static final long OTHER_BALANCE = 1_000;
    static final long FEE = 1;

    public record Spec(int accounts, int txsPerBlock, int blocks, double contention, long seed) {
        public Spec {
            if (accounts < 2) {
                throw new IllegalArgumentException("--accounts must be at least 2, got " + accounts);
            }
            if (txsPerBlock < 0 || txsPerBlock > BlockHeader.MAX_TXS) {
                throw new IllegalArgumentException(
                        "--txs must be within 0.." + BlockHeader.MAX_TXS + ", got " + txsPerBlock);
            }
            if (blocks < 0) {
                throw new IllegalArgumentException("--blocks must not be negative, got " + blocks);
            }
            if (!(contention >= 0 && contention <= 1)) {
                throw new IllegalArgumentException("--contention must be within 0..1, got " + contention);
            }
        }
    }

    private final Spec spec;
    private final Genesis genesis;
    private final Map<Address, byte[]> keys;
    private final byte[][] senderKeys;
    private final Address[] senders;
    private final long[] nextNonce;
    private final ChainBuilder builder;
    private final SplittableRandom random;

    private Workload(Spec spec) throws MalformedException {
        this.spec = spec;
        int m = spec.accounts();
        int s = Math.max(VALIDATORS, Math.min(m - 1, Math.max(16, 2 * spec.txsPerBlock())));
        s = Math.min(s, m);
        random = new SplittableRandom(spec.seed());
        senderKeys = new byte[s][];
        senders = new Address[s];
        IntStream.range(0, s).parallel().forEach(i -> {
            senderKeys[i] = Keys.derived(spec.seed(), i);
            senders[i] = Keys.publicKey(senderKeys[i]);
        });
        keys = new HashMap<>();
        for (int i = 0; i < s; i++) {
            keys.put(senders[i], senderKeys[i]);
        }
        byte[] rewardKey = Keys.derived(spec.seed(), -1);
        keys.put(Keys.publicKey(rewardKey), rewardKey);
        byte[] addrs = new byte[m * Address.SIZE];
        long[] bal = new long[m];
        long[] stk = new long[m];
        for (int i = 0; i < m; i++) {
            if (i < s) {
                System.arraycopy(senders[i].raw(), 0, addrs, i * Address.SIZE, Address.SIZE);
                bal[i] = SENDER_BALANCE;
                stk[i] = i < VALIDATORS ? 10 * MIN_VALIDATOR_STAKE * (i + 1) : 0;
            } else {
                for (int k = 0; k < Address.SIZE; k += 8) {
                    Bytes.putLong(addrs, i * Address.SIZE + k, random.nextLong());
                }
                bal[i] = OTHER_BALANCE;
            }
        }
        nextNonce = new long[s];
        genesis = new Genesis(
                new LedgerParams(1, 0, Keys.publicKey(rewardKey), MIN_VALIDATOR_STAKE),
                1_760_000_000_000L,
                addrs,
                bal,
                stk);
        builder = new ChainBuilder(genesis, keys);
    }

    public static Workload start(Spec spec) throws MalformedException {
        return new Workload(spec);
    }

    public Genesis genesis() {
        return genesis;
    }

    public Map<Address, byte[]> keys() {
        return keys;
    }

    public ChainBuilder builder() {
        return builder;
    }

    private Address account(int i) {
        return i < senders.length ? senders[i] : Address.of(genesisAddresses(), i * Address.SIZE);
    }

    private byte[] genesisAddresses() {
        return builder.chain().state().addrs;
    }

    /** Forgets nonces handed out since the chain's head, to build alternative blocks at one height. */
    public void rewindNonces() {
        for (int i = 0; i < senders.length; i++) {
            nextNonce[i] = builder.nonce(senders[i]);
        }
    }

    /** The transactions of the next block (signed in parallel), without sealing them. */
    public Tx[] nextTxs(int count, double contention) {
        int m = spec.accounts();
        int hot = m - 1;
        int[] from = new int[count];
        int[] to = new int[count];
        long[] nonce = new long[count];
        long[] amount = new long[count];
        for (int k = 0; k < count; k++) {
            int s = random.nextInt(senders.length);
            int r;
            if (random.nextDouble() < contention) {
                r = hot;
            } else {
                do {
                    r = random.nextInt(m);
                } while (r == s);
            }
            from[k] = s;
            to[k] = r;
            nonce[k] = nextNonce[s]++;
            amount[k] = 1 + random.nextInt(100);
        }
        // Genesis accounts keep their numbers in the state: account i of the genesis is state account i.
        Tx[] txs = new Tx[count];
        IntStream.range(0, count)
                .parallel()
                .forEach(k -> txs[k] = Tx.sign(
                        TxKind.TRANSFER,
                        0,
                        senderKeys[from[k]],
                        senders[from[k]],
                        nonce[k],
                        account(to[k]),
                        amount[k],
                        FEE));
        return txs;
    }

    /** Builds, seals and applies the next block. */
    public byte[] nextBlock(double contention) {
        return builder.next(nextTxs(spec.txsPerBlock(), contention));
    }

    /** The whole chain the spec asks for. */
    public List<byte[]> blocks() {
        List<byte[]> out = new ArrayList<>();
        for (int b = 0; b < spec.blocks(); b++) {
            out.add(nextBlock(spec.contention()));
        }
        return out;
    }
}
