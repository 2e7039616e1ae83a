package dev.prospector.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.Arrays;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BlockValidatorTest {
    private final Fixtures f = new Fixtures();
    private final Chain chain = f.freshChain();
    private final ForkJoinPool pool = new ForkJoinPool(2);
    private final BlockValidator validator = new BlockValidator(new ParallelBlockExecutor(pool), true);

    @AfterEach
    void stopPool() {
        pool.shutdown();
    }

    private BlockVerdict.Invalid rejects(byte[] block, InvalidReason reason) {
        byte[] rootBefore = chain.state().root(null);
        long heightBefore = chain.height();
        BlockVerdict v = validator.apply(block, chain);
        BlockVerdict.Invalid inv = assertInstanceOf(BlockVerdict.Invalid.class, v, "expected " + reason.code());
        assertEquals(reason, inv.reason(), inv.detail());
        assertArrayEquals(rootBefore, chain.state().root(null), "a rejected block must leave the state unchanged");
        assertEquals(heightBefore, chain.height());
        return inv;
    }

    @Test
    void acceptsAChainOfValidBlocksAndAdvancesTheHead() {
        byte[] b1 = f.builder.next(f.transfer(f.aliceKey, 0, f.bob, 100), f.transfer(f.bobKey, 0, f.carol, 50));
        byte[] b2 = f.builder.next(f.transfer(f.aliceKey, 1, f.carol, 7));
        assertInstanceOf(BlockVerdict.Valid.class, validator.apply(b1, chain));
        BlockVerdict.Valid v2 = assertInstanceOf(BlockVerdict.Valid.class, validator.apply(b2, chain));
        assertEquals(2, chain.height());
        assertArrayEquals(f.builder.chain().state().root(null), v2.stateRoot());
        assertEquals(
                Fixtures.START_BALANCE - 100 - 1 - 7 - 1,
                chain.state().account(f.alice).orElseThrow().balance());
        assertEquals(3, chain.state().account(Address.FEE_POOL).orElseThrow().balance());
    }

    @Test
    void rejectsAWrongStateRootAndRollsBack() {
        ChainBuilder.Draft d = f.builder.draft(f.transfer(f.aliceKey, 0, Address.fromHex("ab".repeat(32)), 100));
        d.stateRoot = new byte[32];
        rejects(d.seal(), InvalidReason.WRONG_STATE_ROOT);
        assertEquals(0, chain.state().account(f.alice).orElseThrow().nonce());
        assertEquals(6, chain.state().size(), "the new recipient account must be removed again");
    }

    @Test
    void rejectsADoubleSpendOfOneNonce() {
        byte[] block = f.builder
                .draft(f.transfer(f.aliceKey, 0, f.bob, 10), f.transfer(f.aliceKey, 0, f.carol, 10))
                .seal();
        assertEquals(
                InvalidReason.BAD_NONCE, rejects(block, InvalidReason.BAD_NONCE).reason());
    }

    @Test
    void rejectsADoubleSpendOfTheSameBalance() {
        long all = Fixtures.START_BALANCE - 1;
        byte[] block = f.builder
                .draft(f.transfer(f.aliceKey, 0, f.bob, all), f.transfer(f.aliceKey, 1, f.carol, all))
                .seal();
        BlockVerdict.Invalid inv = rejects(block, InvalidReason.INSUFFICIENT_BALANCE);
        assertEquals(true, inv.detail().startsWith("transaction 1 "), inv.detail());
    }

    @Test
    void rejectsATransactionWithABadSignature() {
        Tx good = f.transfer(f.aliceKey, 0, f.bob, 10);
        byte[] sig = good.signature();
        sig[5] ^= 1;
        rejects(f.builder.draft(good.withSignature(sig)).seal(), InvalidReason.BAD_SIGNATURE);
    }

    @Test
    void rejectsATransactionSignedByAnotherKey() {
        Tx forged = Tx.sign(TxKind.TRANSFER, 0, f.bobKey, 0, f.carol, 10, 1);
        Tx claimed = new Tx(TxKind.TRANSFER, 0, f.alice, 0, f.carol, 10, 1, forged.signature());
        rejects(f.builder.draft(claimed).seal(), InvalidReason.BAD_SIGNATURE);
    }

    @Test
    void rejectsABlockFromAProposerTheScheduleDidNotDraw() {
        ChainBuilder.Draft d = f.builder.draft(f.transfer(f.aliceKey, 0, f.bob, 10));
        d.proposerKey = f.carolKey;
        rejects(d.seal(), InvalidReason.WRONG_PROPOSER);
    }

    @Test
    void rejectsABadProposerSignature() {
        byte[] block = f.builder.draft(f.transfer(f.aliceKey, 0, f.bob, 10)).seal();
        block[block.length - 1] ^= 1;
        rejects(block, InvalidReason.BAD_PROPOSER_SIGNATURE);
    }

    @Test
    void rejectsAWrongParent() {
        ChainBuilder.Draft d = f.builder.draft(f.transfer(f.aliceKey, 0, f.bob, 10));
        d.parentHash = Sha256.hash(new byte[] {1});
        rejects(d.seal(), InvalidReason.WRONG_PARENT);
    }

    @Test
    void rejectsAWrongHeight() {
        ChainBuilder.Draft d = f.builder.draft(f.transfer(f.aliceKey, 0, f.bob, 10));
        d.height = 5;
        rejects(d.seal(), InvalidReason.WRONG_HEIGHT);
    }

    @Test
    void rejectsABlockForAnotherShard() {
        ChainBuilder.Draft d = f.builder.draft();
        d.shard = 3;
        rejects(d.seal(), InvalidReason.WRONG_SHARD);
    }

    @Test
    void rejectsARewardThatOverflowsTheRecipient() {
        Fixtures rich = new Fixtures(Long.MAX_VALUE - 100_000);
        Chain c = rich.freshChain();
        byte[] block = rich.builder
                .draft(Tx.sign(TxKind.REWARD, 0, rich.rewardKey, 0, rich.alice, 200_000, 0))
                .seal();
        BlockVerdict.Invalid inv = assertInstanceOf(BlockVerdict.Invalid.class, validator.apply(block, c));
        assertEquals(InvalidReason.OVERFLOW, inv.reason(), inv.detail());
    }

    @Test
    void rejectsRewardsThatOverflowTheTotalSupply() {
        Fixtures rich = new Fixtures(Long.MAX_VALUE - 100_000);
        Chain c = rich.freshChain();
        byte[] block = rich.builder
                .draft(Tx.sign(TxKind.REWARD, 0, rich.rewardKey, 0, rich.bob, 90_000, 0))
                .seal();
        BlockVerdict.Invalid inv = assertInstanceOf(BlockVerdict.Invalid.class, validator.apply(block, c));
        assertEquals(InvalidReason.OVERFLOW, inv.reason(), inv.detail());
        assertEquals(true, inv.detail().contains("supply"), inv.detail());
    }

    @Test
    void rejectsAnAmountPlusFeeThatOverflows() {
        Tx t = Tx.sign(TxKind.TRANSFER, 0, f.aliceKey, 0, f.bob, Long.MAX_VALUE, 1);
        rejects(f.builder.draft(t).seal(), InvalidReason.OVERFLOW);
    }

    @Test
    void rejectsARewardNotSignedByTheRewardKey() {
        Tx t = Tx.sign(TxKind.REWARD, 0, f.aliceKey, 0, f.alice, 1_000, 0);
        rejects(f.builder.draft(t).seal(), InvalidReason.UNAUTHORISED_REWARD);
    }

    @Test
    void acceptsARewardFromTheRewardKeyAndGrowsTheSupply() {
        long supply = chain.state().account(Address.SUPPLY).orElseThrow().balance();
        byte[] b = f.builder.next(Tx.sign(TxKind.REWARD, 0, f.rewardKey, 0, f.alice, 1_000, 0));
        assertInstanceOf(BlockVerdict.Valid.class, validator.apply(b, chain));
        assertEquals(
                supply + 1_000,
                chain.state().account(Address.SUPPLY).orElseThrow().balance());
        assertEquals(
                Fixtures.START_BALANCE + 1_000,
                chain.state().account(f.alice).orElseThrow().balance());
    }

    @Test
    void rejectsARewardClaimingTheRewardKeyButSignedByAnother() {
        Tx forged = Tx.sign(TxKind.REWARD, 0, f.aliceKey, 0, f.alice, 1_000, 0);
        Tx claimed = new Tx(TxKind.REWARD, 0, f.reward, 0, f.alice, 1_000, 0, forged.signature());
        rejects(f.builder.draft(claimed).seal(), InvalidReason.BAD_SIGNATURE);
    }

    @Test
    void acceptsManyRewardsCheckedAgainstTheCachedRewardKeyPoint() {
        Tx[] rewards = new Tx[100];
        for (int i = 0; i < rewards.length; i++) {
            rewards[i] = Tx.sign(TxKind.REWARD, 0, f.rewardKey, i, i % 2 == 0 ? f.alice : f.bob, 10, 0);
        }
        assertInstanceOf(BlockVerdict.Valid.class, validator.apply(f.builder.next(rewards), chain));
        assertEquals(
                Fixtures.START_BALANCE + 500,
                chain.state().account(f.alice).orElseThrow().balance());
    }

    @Test
    void rejectsTamperedTransactionsThroughTheTxRoot() {
        byte[] block = f.builder
                .draft(f.transfer(f.aliceKey, 0, f.bob, 10), f.transfer(f.bobKey, 0, f.alice, 10))
                .seal();
        // Swap the two transactions: each is still well signed, but the root no longer matches.
        byte[] first = Arrays.copyOfRange(block, BlockHeader.SIZE, BlockHeader.SIZE + Tx.SIZE);
        System.arraycopy(block, BlockHeader.SIZE + Tx.SIZE, block, BlockHeader.SIZE, Tx.SIZE);
        System.arraycopy(first, 0, block, BlockHeader.SIZE + Tx.SIZE, Tx.SIZE);
        // Re-sign the header so only the tx root is wrong.
        byte[] resigned = BlockHeaderTestAccess.resign(block, f.builder.secretKey(f.builder.proposer()));
        rejects(resigned, InvalidReason.WRONG_TX_ROOT);
    }

    @Test
    void rejectsTruncatedBytesAsMalformed() {
        byte[] block = f.builder.draft(f.transfer(f.aliceKey, 0, f.bob, 10)).seal();
        rejects(Arrays.copyOf(block, block.length - 1), InvalidReason.MALFORMED);
    }

    @Test
    void rejectsATransactionOfAnotherShard() {
        Tx t = Tx.sign(TxKind.TRANSFER, 1, f.aliceKey, 0, f.bob, 10, 1);
        rejects(f.builder.draft(t).seal(), InvalidReason.TX_WRONG_SHARD);
    }

    @Test
    void stakingEnoughMakesAnAccountAValidator() {
        byte[] b = f.builder.next(Tx.sign(TxKind.STAKE, 0, f.aliceKey, 0, null, Fixtures.MIN_STAKE, 1));
        assertInstanceOf(BlockVerdict.Valid.class, validator.apply(b, chain));
        assertEquals(Fixtures.MIN_STAKE, chain.state().validators().get(f.alice));
        byte[] b2 = f.builder.next(Tx.sign(TxKind.UNSTAKE, 0, f.aliceKey, 1, null, 1, 1));
        assertInstanceOf(BlockVerdict.Valid.class, validator.apply(b2, chain));
        assertEquals(null, chain.state().validators().get(f.alice));
    }
}
