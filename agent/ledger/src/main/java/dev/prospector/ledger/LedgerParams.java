package dev.prospector.ledger;

/** The fixed parameters of a shard, from its genesis. */
public record LedgerParams(int shardCount, int shard, Address rewardKey, long minValidatorStake) {
    public LedgerParams {
        if (shardCount < 1 || shard < 0 || shard >= shardCount) {
            throw new IllegalArgumentException("shard " + shard + " is not within 0.." + (shardCount - 1));
        }
        if (minValidatorStake < 1) {
            throw new IllegalArgumentException("the minimum validator stake must be at least 1");
        }
    }

    boolean owns(Address a) {
        return a.shard(shardCount) == shard;
    }
}
