package dev.prospector.attest;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * A storage audit: which leaves a challenge names, how a board opens them, and how a verifier
 * checks the answer. No message of its own: the audited indices follow from the challenge nonce
 * (which the verifier issued, so the board cannot choose them) and the committed root (so they are
 * fixed only after the board committed).
 */
public final class Audit {
    /** Default and largest number of audited leaves. */
    public static final int DEFAULT_LEAVES = 8;

    /**
     * At most 10: an answer opens 3 leaves per audited index, and 10 indices of 1 KiB leaves with
     * paths of 24 (16 GiB plots) make about 54 KB, which leaves room in a 64 KiB report.
     */
    public static final int MAX_LEAVES = 10;

    private static final byte[] DOMAIN = "prospector audit v1".getBytes(StandardCharsets.US_ASCII);

    private Audit() {}

    /** The {@code k} leaf indices that {@code nonce} audits in the plot of {@code commitment}. */
    public static long[] indices(byte[] nonce, PlotCommitment commitment, int k) {
        if (k < 1 || k > MAX_LEAVES) {
            throw new IllegalArgumentException("an audit names 1 to " + MAX_LEAVES + " leaves");
        }
        long[] out = new long[k];
        byte[] root = commitment.root();
        for (int j = 0; j < k; j++) {
            out[j] = Plot.below(
                    Sha256.ofParts(DOMAIN, nonce, root, Plot.longBytes(j)),
                    commitment.params().leaves());
        }
        return out;
    }

    /**
     * The leaves to open, in order, for audited indices: {@code i}, then {@code i - 1} and
     * {@code p(i)} when {@code i > 0}.
     */
    public static List<Long> openings(byte[] plotId, long[] indices) {
        var out = new ArrayList<Long>();
        for (long i : indices) {
            out.add(i);
            if (i > 0) {
                out.add(i - 1);
                out.add(Plot.parent(plotId, i));
            }
        }
        return out;
    }

    /** The outcome of checking an answer. */
    public sealed interface Check {
        /** Every audited leaf is in the committed tree and is what the plot function makes. */
        record Passed(int leaves) implements Check {}

        /** Wrong data: the sentence says which leaf and what is wrong. */
        record Failed(String why) implements Check {}

        /** The board said it could not answer (its own error). */
        record BoardError(String why) implements Check {}
    }

    /** Checks {@code answer} to the audit of {@code nonce} over {@code device}'s committed plot. */
    public static Check check(DeviceId device, PlotCommitment commitment, byte[] nonce, int k, AuditAnswer answer) {
        if (answer.error().isPresent()) {
            return new Check.BoardError(answer.error().get());
        }
        byte[] id = commitment.id(device);
        long[] indices = indices(nonce, commitment, k);
        List<Long> wanted = openings(id, indices);
        List<AuditAnswer.Opening> got = answer.openings();
        if (got.size() != wanted.size()) {
            return new Check.Failed(
                    "the answer opens " + got.size() + " leaves where the audit needs " + wanted.size());
        }
        PlotParams p = commitment.params();
        byte[] root = commitment.root();
        for (int j = 0; j < got.size(); j++) {
            var o = got.get(j);
            byte[] leaf = o.leaf();
            if (leaf.length != p.leafSize()) {
                return new Check.Failed(
                        "leaf " + wanted.get(j) + " has " + leaf.length + " bytes, not " + p.leafSize());
            }
            if (!Plot.verifyPath(root, p.leaves(), wanted.get(j), Plot.leafHash(leaf), o.path())) {
                return new Check.Failed("leaf " + wanted.get(j) + " is not in the committed tree");
            }
        }
        var md = Sha256.newDigest();
        byte[] expected = new byte[p.leafSize()];
        int at = 0;
        for (long i : indices) {
            byte[] leaf = got.get(at).leaf();
            byte[] previous = i > 0 ? got.get(at + 1).leaf() : null;
            byte[] parent = i > 0 ? got.get(at + 2).leaf() : null;
            Plot.label(id, i, previous, parent, expected, md);
            if (!MessageDigest.isEqual(expected, leaf)) {
                return new Check.Failed("leaf " + i + " is not the plot's leaf (it does not follow from leaves "
                        + (i > 0 ? (i - 1) + " and " + Plot.parent(id, i) : "of the seed") + ")");
            }
            at += i > 0 ? 3 : 1;
        }
        return new Check.Passed(indices.length);
    }
}
