package dev.prospector.ledger;

import java.util.Arrays;
import java.util.Optional;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * Checks a block against a chain and, if it is valid, applies it. In order: the encoding; shard,
 * height and parent; the proposer drawn by stake and its signature; every transaction's encoding,
 * shard and signature, verified in parallel with the transaction hashes; the transaction root;
 * execution, where any failed transaction (bad nonce, double spend, overflow, ...) rejects the
 * block; and last the state root. A rejected block leaves the chain exactly as it was.
 *
 * <p>With {@code checkSignatures} false, signatures are taken as checked already (the benchmark's
 * "execution plus state root" figure, or replay of blocks this node has validated itself).
 */
public final class BlockValidator {
    /** Transactions per fork/join leaf task when decoding and verifying: ~1-5 ms of work. */
    private static final int VERIFY_GRAIN = 64;

    private final ShardExecutor executor;
    private final boolean checkSignatures;
    private volatile RewardPoint rewardPoint;

    public BlockValidator(ShardExecutor executor, boolean checkSignatures) {
        this.executor = executor;
        this.checkSignatures = checkSignatures;
    }

    public ShardExecutor executor() {
        return executor;
    }

    /** Validates and, when valid, applies the block to the chain. */
    public BlockVerdict apply(byte[] block, Chain chain) {
        return validate(block, chain, true);
    }

    /** Validates the block completely (state root included) and leaves the chain unchanged. */
    public BlockVerdict check(byte[] block, Chain chain) {
        return validate(block, chain, false);
    }

    private BlockVerdict validate(byte[] block, Chain chain, boolean keep) {
        byte[] blockHash = BlockHeader.hashOf(block);
        BlockHeader h;
        try {
            h = BlockHeader.decode(block);
        } catch (MalformedException e) {
            return new BlockVerdict.Invalid(0, blockHash, InvalidReason.MALFORMED, e.getMessage());
        }
        LedgerParams params = chain.params();
        long height = h.height();
        if (h.shard() != params.shard()) {
            return invalid(
                    h,
                    blockHash,
                    InvalidReason.WRONG_SHARD,
                    "block is for shard " + h.shard() + ", this is shard " + params.shard());
        }
        if (height != chain.height() + 1) {
            return invalid(
                    h,
                    blockHash,
                    InvalidReason.WRONG_HEIGHT,
                    "expected height " + (chain.height() + 1) + ", got " + height);
        }
        if (!Arrays.equals(h.parentHash(), chain.headHashRef())) {
            return invalid(
                    h,
                    blockHash,
                    InvalidReason.WRONG_PARENT,
                    "parent " + Bytes.hex(h.parentHash()) + " is not the head " + Bytes.hex(chain.headHashRef()));
        }
        ShardState state = chain.state();
        Optional<Address> expected = ProposerSchedule.proposer(state.validators(), h.parentHash(), height);
        if (expected.isEmpty() || !expected.get().equals(h.proposer())) {
            return invalid(
                    h,
                    blockHash,
                    InvalidReason.WRONG_PROPOSER,
                    "proposer " + h.proposer().hex() + ", the schedule draws "
                            + expected.map(Address::hex).orElse("nobody (no validators)"));
        }
        if (checkSignatures && !BlockHeader.verifySignature(block)) {
            return invalid(h, blockHash, InvalidReason.BAD_PROPOSER_SIGNATURE, "proposer signature does not verify");
        }

        long t0 = System.nanoTime();
        int n = h.txCount();
        Tx[] txs = new Tx[n];
        byte[] failure = new byte[n];
        byte[] leaves = new byte[n * Sha256.SIZE];
        Parallel.forRange(
                executor.pool(),
                n,
                VERIFY_GRAIN,
                (lo, hi) -> decodeAndVerify(block, params, txs, failure, leaves, lo, hi));
        for (int i = 0; i < n; i++) {
            if (failure[i] != 0) {
                return invalid(h, blockHash, FAILURES[failure[i]], "transaction " + i + ": " + describe(block, i));
            }
        }
        byte[] txRoot = TxRoot.fromLeaves(leaves, n, executor.pool());
        if (!Arrays.equals(txRoot, h.txRoot())) {
            return invalid(h, blockHash, InvalidReason.WRONG_TX_ROOT, "transactions hash to " + Bytes.hex(txRoot));
        }

        long t1 = System.nanoTime();
        ExecutionPlan plan = ExecutionPlan.build(state, txs, params.rewardKey(), executor.pool());
        executor.execute(plan);
        int failed = plan.firstFailure();
        if (failed >= 0) {
            TxOutcome o = plan.outcome(failed);
            return invalid(
                    h,
                    blockHash,
                    InvalidReason.of(o),
                    "transaction " + failed + " (" + txs[failed] + ") failed: " + o.code());
        }
        ExecutionPlan.Commit commit = plan.commit(state, executor.pool());
        if (commit == null) {
            return invalid(
                    h,
                    blockHash,
                    InvalidReason.OVERFLOW,
                    "the block's fees or rewards overflow the fee pool or the supply");
        }
        long t2 = System.nanoTime();
        byte[] root = state.root(executor.pool());
        long t3 = System.nanoTime();
        if (!Arrays.equals(root, h.stateRoot())) {
            commit.rollback();
            return invalid(
                    h,
                    blockHash,
                    InvalidReason.WRONG_STATE_ROOT,
                    "block claims " + Bytes.hex(h.stateRoot()) + ", execution gives " + Bytes.hex(root));
        }
        if (keep) {
            chain.advance(height, blockHash);
        } else {
            commit.rollback();
        }
        return new BlockVerdict.Valid(
                height, blockHash, root, new BlockVerdict.BlockTimings(n, t1 - t0, t2 - t1, t3 - t2));
    }

    /** Per-transaction failure codes found in the parallel phase; 0 is none. */
    private static final InvalidReason[] FAILURES = {
        null,
        InvalidReason.MALFORMED,
        InvalidReason.TX_WRONG_SHARD,
        InvalidReason.BAD_SIGNATURE,
        InvalidReason.UNAUTHORISED_REWARD
    };

    private void decodeAndVerify(
            byte[] block, LedgerParams params, Tx[] txs, byte[] failure, byte[] leaves, int lo, int hi) {
        var md = Sha256.threadDigest();
        for (int i = lo; i < hi; i++) {
            int off = BlockHeader.SIZE + i * Tx.SIZE;
            TxRoot.hashLeaf(md, block, off, leaves, i);
            Tx tx;
            try {
                tx = Tx.decode(block, off);
            } catch (MalformedException e) {
                failure[i] = 1;
                continue;
            }
            txs[i] = tx;
            if (tx.shard() != params.shard()
                    || !params.owns(tx.sender())
                    || (tx.hasRecipient() && !params.owns(tx.to()))) {
                failure[i] = 2;
            } else if (checkSignatures && !verify(block, off, tx, params)) {
                failure[i] = 3;
            } else if (tx.kind() == TxKind.REWARD && !tx.sender().equals(params.rewardKey())) {
                failure[i] = 4;
            }
        }
    }

    /**
     * Rewards are all signed by the one reward key: its point is decoded once per chain and reused
     * (Bouncy Castle then skips the point decompression, ~10% of a verify; blocks on a board are
     * mostly rewards). Other senders are checked with their key bytes in place.
     */
    private boolean verify(byte[] block, int off, Tx tx, LedgerParams params) {
        if (tx.kind() == TxKind.REWARD && tx.sender().equals(params.rewardKey())) {
            RewardPoint rp = rewardPoint;
            if (rp == null || !rp.key().equals(params.rewardKey())) {
                Ed25519.PublicPoint point = Ed25519.validatePublicKeyPartialExport(
                        params.rewardKey().raw(), 0);
                if (point == null) {
                    return false;
                }
                rp = new RewardPoint(params.rewardKey(), point);
                rewardPoint = rp;
            }
            return Tx.verifySignature(block, off, rp.point());
        }
        return Tx.verifySignature(block, off);
    }

    /** The reward key and its decoded point; replaced whole, so readers never see a mixed pair. */
    private record RewardPoint(Address key, Ed25519.PublicPoint point) {}

    private static String describe(byte[] block, int i) {
        try {
            return Tx.decode(block, BlockHeader.SIZE + i * Tx.SIZE).toString();
        } catch (MalformedException e) {
            return e.getMessage();
        }
    }

    private static BlockVerdict.Invalid invalid(BlockHeader h, byte[] hash, InvalidReason r, String detail) {
        return new BlockVerdict.Invalid(h.height(), hash, r, detail);
    }
}
