package dev.prospector.ledger;

import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.OptionalInt;

/**
 * What can be said of a block without its chain, as {@code prospector inspect} shows it: the
 * header, the block hash, whether the proposer's signature and the transaction root hold, how many
 * transactions of each kind it carries and whether each one's signature verifies. Shard, height,
 * parent, proposer schedule and state root need the chain: {@link BlockValidator} checks those.
 * Transactions are read in place, so memory beyond the block's own bytes is the root's leaves
 * (32 bytes per transaction).
 */
public record BlockSummary(
        BlockHeader header,
        byte[] hash,
        boolean signatureValid,
        boolean txRootMatches,
        Map<TxKind, Integer> txsByKind,
        int invalidTxSignatures,
        OptionalInt firstInvalidTx) {
    public BlockSummary {
        txsByKind = Collections.unmodifiableMap(new EnumMap<>(txsByKind));
    }

    /** Reads an encoded block, or says why it is not one (naming the transaction at fault). */
    public static BlockSummary of(byte[] block) throws MalformedException {
        BlockHeader header = BlockHeader.decode(block);
        Map<TxKind, Integer> byKind = new EnumMap<>(TxKind.class);
        int invalid = 0;
        int first = -1;
        for (int i = 0; i < header.txCount(); i++) {
            int off = BlockHeader.SIZE + i * Tx.SIZE;
            Tx tx;
            try {
                tx = Tx.decode(block, off);
            } catch (MalformedException e) {
                throw new MalformedException("transaction " + i + ": " + e.getMessage());
            }
            byKind.merge(tx.kind(), 1, Integer::sum);
            if (!Tx.verifySignature(block, off)) {
                invalid++;
                first = first < 0 ? i : first;
            }
        }
        boolean rootMatches =
                Arrays.equals(TxRoot.of(block, BlockHeader.SIZE, header.txCount(), null), header.txRoot());
        return new BlockSummary(
                header,
                BlockHeader.hashOf(block),
                BlockHeader.verifySignature(block),
                rootMatches,
                byKind,
                invalid,
                first < 0 ? OptionalInt.empty() : OptionalInt.of(first));
    }

    /** True when the proposer's signature, the transaction root and every transaction's signature hold. */
    public boolean intact() {
        return signatureValid && txRootMatches && invalidTxSignatures == 0;
    }
}
