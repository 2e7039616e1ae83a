package dev.prospector.ledger;

/** A shard's state and the head it is at: the single-writer core that blocks advance. */
public final class Chain {
    private final LedgerParams params;
    private final ShardState state;
    private long height;
    private byte[] headHash;

    public Chain(LedgerParams params, ShardState state, long height, byte[] headHash) {
        this.params = params;
        this.state = state;
        this.height = height;
        this.headHash = headHash.clone();
    }

    public static Chain fromGenesis(Genesis g) throws MalformedException {
        return new Chain(g.params(), g.toState(), 0, g.hash());
    }

    public LedgerParams params() {
        return params;
    }

    public ShardState state() {
        return state;
    }

    public long height() {
        return height;
    }

    public byte[] headHash() {
        return headHash.clone();
    }

    byte[] headHashRef() {
        return headHash;
    }

    void advance(long newHeight, byte[] newHeadHash) {
        this.height = newHeight;
        this.headHash = newHeadHash;
    }
}
