package dev.prospector.ledger;

import java.util.HashMap;
import java.util.Map;

/**
 * Builds a chain of valid blocks the way a proposer does: draws the proposer by stake, executes to
 * find the state root, seals. For {@code ledger gen} and tests; a {@link Draft} can be altered
 * before sealing to make any invalid block.
 */
public final class ChainBuilder {
    private final Chain chain;
    private final Map<Address, byte[]> keys;
    private final BlockValidator applier = new BlockValidator(new SequentialBlockExecutor(), false);
    private final long genesisTime;

    public ChainBuilder(Genesis genesis, Map<Address, byte[]> secretKeys) throws MalformedException {
        this.chain = Chain.fromGenesis(genesis);
        this.keys = new HashMap<>(secretKeys);
        this.genesisTime = genesis.timeMillis();
    }

    public Chain chain() {
        return chain;
    }

    public long nonce(Address a) {
        return chain.state().account(a).map(Account::nonce).orElse(0L);
    }

    /** The proposer drawn for the next height. */
    public Address proposer() {
        return ProposerSchedule.proposer(chain.state().validators(), chain.headHashRef(), chain.height() + 1)
                .orElseThrow(() -> new IllegalStateException("no validators in the genesis"));
    }

    public byte[] secretKey(Address a) {
        byte[] k = keys.get(a);
        if (k == null) {
            throw new IllegalStateException("no secret key for " + a.hex());
        }
        return k;
    }

    /** A block at the next height with the right proposer and the root the transactions give. */
    public Draft draft(Tx... txs) {
        Draft d = new Draft();
        d.shard = chain.params().shard();
        d.height = chain.height() + 1;
        d.timeMillis = genesisTime + d.height * 1000;
        d.parentHash = chain.headHash();
        d.txs = txs.clone();
        d.proposerKey = secretKey(proposer());
        d.stateRoot = rootAfter(txs);
        return d;
    }

    private byte[] rootAfter(Tx[] txs) {
        ShardState s = chain.state();
        ExecutionPlan plan = ExecutionPlan.build(s, txs, chain.params().rewardKey());
        new SequentialBlockExecutor().execute(plan);
        ExecutionPlan.Commit c = plan.firstFailure() < 0 ? plan.commit(s) : null;
        if (c == null) {
            return s.root(null);
        }
        byte[] root = s.root(null);
        c.rollback();
        s.root(null);
        return root;
    }

    /** Seals the next block and advances this builder's chain; the transactions must all succeed. */
    public byte[] next(Tx... txs) {
        byte[] block = draft(txs).seal();
        BlockVerdict v = applier.apply(block, chain);
        if (!(v instanceof BlockVerdict.Valid)) {
            throw new IllegalStateException("built an invalid block: " + v);
        }
        return block;
    }

    /** Advances this builder's chain by a block built elsewhere. */
    public BlockVerdict accept(byte[] block) {
        return applier.apply(block, chain);
    }

    /** A block before sealing; every field may be changed. */
    public static final class Draft {
        public int shard;
        public long height;
        public long timeMillis;
        public byte[] parentHash;
        public byte[] stateRoot;
        public byte[] proposerKey;
        public Tx[] txs;

        public byte[] seal() {
            return BlockHeader.seal(shard, height, timeMillis, parentHash, stateRoot, txs, proposerKey);
        }
    }
}
