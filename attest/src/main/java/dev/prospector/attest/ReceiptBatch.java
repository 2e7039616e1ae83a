package dev.prospector.attest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Receipts signed many at a time: one Ed25519 signature over the Merkle root of a batch of
 * receipts, and each receipt sent with the path that proves it is a leaf of that root.
 *
 * <h2>Why</h2>
 * A verifier answers every report with a signed receipt. Signing costs about a third of verifying
 * a report (BENCHMARKS.md, "Network side"), so a verifier that signs each receipt alone spends a
 * quarter of its appraisal CPU on receipts. Under a backlog it signs one root for up to
 * {@link #MAX_LEAVES} receipts instead, at the price of a few SHA-256 hashes per receipt and a
 * longer message; a batch of one is exactly {@link Receipt#sign}'s message, so a lightly loaded
 * verifier sends what it always sent.
 *
 * <h2>Format</h2>
 * A batch of one: the receipt as the payload of a tagged COSE_Sign1 ({@link Receipt#sign}). A larger
 * batch: for each receipt the deterministic CBOR map
 *
 * <pre>
 * {"v": 1, "receipt": bstr (the receipt's CBOR, {@link Receipt#encode}), "leaf": uint (its index),
 *  "path": [* bstr(32)] (the inclusion path, leaf to root), "root": bstr (tagged COSE_Sign1)}
 * </pre>
 *
 * where {@code root}'s payload is {@code {"v": 1, "receipts_root": bstr(32), "leaves": uint}},
 * signed by the verifier's key as a receipt would be. The tree is RFC 9162's (section 2.1.1): leaf
 * hash SHA-256(0x00 || receipt), interior SHA-256(0x01 || left || right), and a batch of any size;
 * the path is checked as in its section 2.1.3.2. The leaf and interior prefixes keep a receipt from
 * passing for an interior node; the statement's keys ({@code receipts_root}, {@code leaves}) are
 * none of a receipt's, so neither decodes as the other.
 *
 * <h2>What it does not change</h2>
 * What a receipt says and who may speak it: a receipt is accepted only under a root signed by a
 * trusted verifier key, and only with the path to that root; a receipt names its device, seq and
 * report hash, so a receipt of another device's batch says nothing about this device's reports.
 * {@link #open} bounds everything it reads (message size, path length, leaf count) before hashing.
 */
public final class ReceiptBatch {
    /** Receipts under one signature, at most: paths of at most 8 hashes. */
    public static final int MAX_LEAVES = 256;

    /** Hashes in a path, at most (a tree of {@link #MAX_LEAVES} leaves is 8 deep). */
    static final int MAX_PATH = 8;

    private static final int VERSION = 1;

    private ReceiptBatch() {}

    /**
     * The message for each of {@code receipts} (in order), all under one signature by {@code key}:
     * for one receipt, {@link Receipt#sign}'s message.
     */
    public static List<byte[]> sign(List<Receipt> receipts, DeviceKeys key) {
        int n = receipts.size();
        if (n < 1 || n > MAX_LEAVES) {
            throw new IllegalArgumentException("a receipt batch has 1 to " + MAX_LEAVES + " receipts, not " + n);
        }
        byte[] kid = key.deviceId().kid();
        if (n == 1) {
            return List.of(CoseSign1.sign(kid, receipts.get(0).encode(), key));
        }
        byte[][] encoded = new byte[n][];
        byte[][] leaves = new byte[n][];
        for (int i = 0; i < n; i++) {
            encoded[i] = receipts.get(i).encode();
            leaves[i] = leafHash(encoded[i]);
        }
        var tree = new Tree(leaves);
        byte[] root = CoseSign1.sign(kid, statement(tree.hash(0, n), n), key);
        List<byte[]> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            List<Cbor.Value> path = new ArrayList<>(MAX_PATH);
            tree.path(i, 0, n, path);
            out.add(Cbor.encode(Cbor.map()
                    .put("v", new Cbor.Int(VERSION))
                    .put("receipt", new Cbor.Bytes(encoded[i]))
                    .put("leaf", new Cbor.Int(i))
                    .put("path", new Cbor.Array(path))
                    .put("root", new Cbor.Bytes(root))
                    .build()));
        }
        return out;
    }

    /**
     * A receipt message taken apart: {@code signed} is the COSE_Sign1 whose signature vouches for
     * {@code receipt} (the receipt's own, or its batch's root), and {@code receipt} its encoding.
     * The path, if any, has been checked against the root; the signature has not: check it with
     * {@code signed().verify(key)} before believing the receipt.
     */
    public record Opened(CoseSign1.Parts signed, byte[] receipt, int batchSize) {
        /** The receipt itself. */
        public Receipt decode() throws MalformedReportException {
            return Receipt.decode(receipt);
        }
    }

    /** Takes either form of receipt message apart, or says in one line what is wrong with it. */
    public static Opened open(byte[] message) throws MalformedReportException {
        if (message.length > Limits.MAX_REPORT_BYTES) {
            throw new MalformedReportException(
                    "receipt of " + message.length + " bytes exceeds the limit of " + Limits.MAX_REPORT_BYTES);
        }
        if (message.length > 0 && (message[0] & 0xff) == 0xd2) { // tag 18: a receipt signed alone
            CoseSign1.Parts parts = CoseSign1.decode(message);
            return new Opened(parts, parts.payload(), 1);
        }
        if (!(Cbor.decode(message) instanceof Cbor.MapValue m)) {
            throw new MalformedReportException("receipt is neither a COSE_Sign1 nor a batched receipt map");
        }
        if (Claims.uint(m, "v") != VERSION) {
            throw new MalformedReportException("unsupported batched receipt version");
        }
        byte[] receipt = Claims.bytes(m, "receipt", 1, Limits.MAX_REPORT_BYTES);
        CoseSign1.Parts root = CoseSign1.decode(Claims.bytes(m, "root", 1, Limits.MAX_REPORT_BYTES));
        if (!(Cbor.decode(root.payload()) instanceof Cbor.MapValue s) || Claims.uint(s, "v") != VERSION) {
            throw new MalformedReportException("batched receipt root is not a version 1 statement");
        }
        byte[] rootHash = Claims.bytes(s, "receipts_root", Sha256.BYTES, Sha256.BYTES);
        long leaves = Claims.uint(s, "leaves");
        long leaf = Claims.uint(m, "leaf");
        if (leaves < 2 || leaves > MAX_LEAVES || leaf >= leaves) {
            throw new MalformedReportException(
                    "batched receipt names leaf " + leaf + " of " + leaves + " (2 to " + MAX_LEAVES + " leaves)");
        }
        if (!(m.get("path").orElse(null) instanceof Cbor.Array a) || a.items().size() > MAX_PATH) {
            throw new MalformedReportException("batched receipt path is missing or longer than " + MAX_PATH);
        }
        List<byte[]> path = new ArrayList<>(a.items().size());
        for (Cbor.Value v : a.items()) {
            if (!(v instanceof Cbor.Bytes b) || b.value().length != Sha256.BYTES) {
                throw new MalformedReportException("batched receipt path holds something other than 32-byte hashes");
            }
            path.add(b.value());
        }
        if (!included(leafHash(receipt), leaf, leaves, path, rootHash)) {
            throw new MalformedReportException("batched receipt is not under its signed root (path does not match)");
        }
        return new Opened(root, receipt, (int) leaves);
    }

    /** RFC 9162, 2.1.3.2: whether {@code path} proves leaf {@code index} of {@code size} under {@code root}. */
    static boolean included(byte[] leafHash, long index, long size, List<byte[]> path, byte[] root) {
        if (index >= size) {
            return false;
        }
        long fn = index;
        long sn = size - 1;
        byte[] r = leafHash;
        for (byte[] p : path) {
            if (sn == 0) {
                return false;
            }
            if ((fn & 1) == 1 || fn == sn) {
                r = interior(p, r);
                if ((fn & 1) == 0) {
                    while ((fn & 1) == 0 && fn != 0) {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                r = interior(r, p);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && Arrays.equals(r, root);
    }

    private static byte[] statement(byte[] root, int leaves) {
        return Cbor.encode(Cbor.map()
                .put("v", new Cbor.Int(VERSION))
                .put("receipts_root", new Cbor.Bytes(root))
                .put("leaves", new Cbor.Int(leaves))
                .build());
    }

    /** RFC 9162's tree over a batch's leaf hashes, each subtree's hash computed once. */
    private static final class Tree {
        private final byte[][] leaves;
        private final java.util.Map<Long, byte[]> hashes = new java.util.HashMap<>();

        Tree(byte[][] leaves) {
            this.leaves = leaves;
        }

        /** MTH(D[from, from + n)). */
        byte[] hash(int from, int n) {
            if (n == 1) {
                return leaves[from];
            }
            long key = ((long) from << 32) | n;
            byte[] h = hashes.get(key);
            if (h == null) {
                int k = Integer.highestOneBit(n - 1); // the largest power of two below n
                h = interior(hash(from, k), hash(from + k, n - k));
                hashes.put(key, h);
            }
            return h;
        }

        /** PATH(m, D[from, from + n)), leaf to root, appended to {@code out}. */
        void path(int m, int from, int n, List<Cbor.Value> out) {
            if (n == 1) {
                return;
            }
            int k = Integer.highestOneBit(n - 1);
            if (m < k) {
                path(m, from, k, out);
                out.add(new Cbor.Bytes(hash(from + k, n - k)));
            } else {
                path(m - k, from + k, n - k, out);
                out.add(new Cbor.Bytes(hash(from, k)));
            }
        }
    }

    static byte[] leafHash(byte[] receipt) {
        return Sha256.ofParts(new byte[] {0}, receipt);
    }

    private static byte[] interior(byte[] left, byte[] right) {
        return Sha256.ofParts(new byte[] {1}, left, right);
    }
}
