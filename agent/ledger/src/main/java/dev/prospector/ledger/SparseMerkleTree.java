package dev.prospector.ledger;

import java.security.DigestException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/**
 * The authenticated map from address to account behind the state root: a binary sparse Merkle
 * tree of depth 256 keyed by the address bits, with single-leaf subtrees collapsed (the definition
 * Diem and Aptos use).
 *
 * <h2>Hashes</h2>
 * <pre>
 *   empty subtree          = 32 zero bytes
 *   subtree with one leaf  = SHA-256(0x00 || address || balance u64 || stake u64 || nonce u64)
 *   subtree with two+      = SHA-256(0x01 || left || right)
 * </pre>
 * The root therefore depends only on the set of accounts, never on insertion order or on how the
 * work was split, which is what lets the parallel executor match the sequential one byte for byte.
 *
 * <h2>Storage and incremental update</h2>
 * Internal nodes live in parallel int/byte arrays (no object per node: 1M accounts take about 1.44M
 * nodes of 41 bytes). A child reference is 0 for empty, n &gt; 0 for internal node n, and -(i+1)
 * for the leaf of account i. Writing an account marks its leaf and the internal nodes on its path
 * dirty; {@link #root} rehashes only dirty nodes, bottom-up, so a path shared by many changed
 * accounts is hashed once per block. Subtrees below {@link #PARALLEL_DEPTH} are rehashed as
 * separate fork/join tasks: every node is written by exactly one task and the join publishes it.
 *
 * <p>Not thread-safe except inside {@link #root}; owned by {@link ShardState}.
 */
final class SparseMerkleTree {
    static final byte LEAF_PREFIX = 0;
    static final byte NODE_PREFIX = 1;
    static final byte[] EMPTY_HASH = new byte[Sha256.SIZE];
    static final int LEAF_VALUE_BYTES = 24;
    /** Depth down to which rehashing forks one task per dirty child: 2^4 = 16 tasks, enough for 4 cores. */
    private static final int PARALLEL_DEPTH = 4;

    private static final int EMPTY = 0;
    private static final int ROOT = 0;

    private final ShardState accounts;
    private int[] left;
    private int[] right;
    private byte[] hash;
    private boolean[] dirty;
    private int nodeCount = 1;
    private byte[] leafHash;
    private boolean[] leafDirty;
    /**
     * Accounts written since the last root, with the first 64 bits of their address: the rehash
     * partitions this list by key bit at every depth and descends only where it is non-empty, so
     * writing an account costs no tree walk and the walks happen in parallel inside the rehash.
     */
    private int[] pendingAccount = new int[1024];

    private long[] pendingKey = new long[1024];
    private int pendingCount;

    SparseMerkleTree(ShardState accounts, int accountCapacity) {
        this.accounts = accounts;
        // A trie over n random keys has about n / ln 2 = 1.44 n internal nodes.
        int nodes = Math.max(16, (int) (accountCapacity * 1.45));
        left = new int[nodes];
        right = new int[nodes];
        hash = new byte[nodes * Sha256.SIZE];
        dirty = new boolean[nodes];
        leafHash = new byte[accountCapacity * Sha256.SIZE];
        leafDirty = new boolean[accountCapacity];
    }

    long heapBytes() {
        return 8L * left.length
                + hash.length
                + dirty.length
                + leafHash.length
                + leafDirty.length
                + 12L * pendingAccount.length;
    }

    void ensureAccountCapacity(int capacity) {
        if (leafDirty.length < capacity) {
            leafHash = Arrays.copyOf(leafHash, capacity * Sha256.SIZE);
            leafDirty = Arrays.copyOf(leafDirty, capacity);
        }
    }

    private int bit(int account, int depth) {
        return (accounts.addrs[account * Address.SIZE + (depth >>> 3)] >>> (7 - (depth & 7))) & 1;
    }

    private int child(int node, int b) {
        return b == 0 ? left[node] : right[node];
    }

    private void setChild(int node, int b, int ref) {
        if (b == 0) {
            left[node] = ref;
        } else {
            right[node] = ref;
        }
    }

    private int newNode() {
        if (nodeCount == left.length) {
            int cap = left.length + (left.length >> 1);
            left = Arrays.copyOf(left, cap);
            right = Arrays.copyOf(right, cap);
            hash = Arrays.copyOf(hash, cap * Sha256.SIZE);
            dirty = Arrays.copyOf(dirty, cap);
        }
        int n = nodeCount++;
        left[n] = EMPTY;
        right[n] = EMPTY;
        return n;
    }

    /** Adds the leaf of a new account (its address must not be in the tree). */
    void insert(int account) {
        // The path is marked dirty on the way down, so the leaf needs no pending entry.
        leafDirty[account] = true;
        int node = ROOT;
        int depth = 0;
        while (true) {
            dirty[node] = true;
            int b = bit(account, depth);
            int c = child(node, b);
            if (c == EMPTY) {
                setChild(node, b, -(account + 1));
                return;
            }
            if (c > 0) {
                node = c;
                depth++;
                continue;
            }
            int other = -c - 1;
            int parent = node;
            int pb = b;
            for (int d = depth + 1; d < 256; d++) {
                int n = newNode();
                dirty[n] = true;
                setChild(parent, pb, n);
                int ba = bit(account, d);
                int bo = bit(other, d);
                if (ba != bo) {
                    setChild(n, ba, -(account + 1));
                    setChild(n, bo, -(other + 1));
                    return;
                }
                parent = n;
                pb = ba;
            }
            throw new IllegalStateException("duplicate address in the state tree");
        }
    }

    /** Marks an account's leaf for rehashing; its path is found during the rehash. */
    void touch(int account) {
        if (leafDirty[account]) {
            return;
        }
        leafDirty[account] = true;
        if (pendingCount == pendingAccount.length) {
            pendingAccount = Arrays.copyOf(pendingAccount, pendingCount * 2);
            pendingKey = Arrays.copyOf(pendingKey, pendingCount * 2);
        }
        pendingAccount[pendingCount] = account;
        pendingKey[pendingCount] = Bytes.getLong(accounts.addrs, account * Address.SIZE);
        pendingCount++;
    }

    /** Orders pending[lo, hi) so that keys with bit {@code depth} clear come first; returns the split. */
    private int partition(int lo, int hi, int depth) {
        int i = lo;
        int j = hi - 1;
        while (i <= j) {
            int b = depth < 64 ? (int) (pendingKey[i] >>> (63 - depth)) & 1 : bit(pendingAccount[i], depth);
            if (b == 0) {
                i++;
            } else {
                int a = pendingAccount[i];
                pendingAccount[i] = pendingAccount[j];
                pendingAccount[j] = a;
                long k = pendingKey[i];
                pendingKey[i] = pendingKey[j];
                pendingKey[j] = k;
                j--;
            }
        }
        return i;
    }

    /** Removes an account's leaf (rollback of a rejected block), collapsing single-leaf subtrees. */
    void remove(int account) {
        int[] path = new int[257];
        int[] bits = new int[257];
        int node = ROOT;
        int depth = 0;
        while (true) {
            dirty[node] = true;
            path[depth] = node;
            bits[depth] = bit(account, depth);
            int c = child(node, bits[depth]);
            if (c == -(account + 1)) {
                setChild(node, bits[depth], EMPTY);
                break;
            }
            if (c <= 0) {
                throw new IllegalStateException("account not in the state tree");
            }
            node = c;
            depth++;
        }
        for (int d = depth; d > 0; d--) {
            int n = path[d];
            int l = left[n];
            int r = right[n];
            if (l > 0 || r > 0 || (l < 0 && r < 0)) {
                break;
            }
            setChild(path[d - 1], bits[d - 1], l != EMPTY ? l : r);
        }
        leafDirty[account] = false;
    }

    /** The root hash, rehashing dirty nodes first; with a pool of more than one thread, in parallel. */
    byte[] root(ForkJoinPool pool) {
        if (dirty[ROOT] || pendingCount > 0) {
            if (pool == null || pool.getParallelism() < 2) {
                rehash(ROOT, 0, 0, pendingCount, new Hasher());
            } else {
                pool.invoke(new RehashTask(ROOT, 0, 0, pendingCount));
            }
            pendingCount = 0;
        }
        int l = left[ROOT];
        int r = right[ROOT];
        if (l == EMPTY && r == EMPTY) {
            return EMPTY_HASH.clone();
        }
        if ((l < 0 && r == EMPTY) || (l == EMPTY && r < 0)) {
            int leaf = -(l + r) - 1;
            return Arrays.copyOfRange(leafHash, leaf * Sha256.SIZE, (leaf + 1) * Sha256.SIZE);
        }
        return Arrays.copyOfRange(hash, 0, Sha256.SIZE);
    }

    private void rehashChild(int c, int depth, int lo, int hi, Hasher h) {
        if (c > 0) {
            if (hi > lo || dirty[c]) {
                rehash(c, depth, lo, hi, h);
            }
        } else if (c < 0 && leafDirty[-c - 1]) {
            hashLeaf(-c - 1, h);
        }
    }

    private void rehash(int node, int depth, int lo, int hi, Hasher h) {
        int mid = partition(lo, hi, depth);
        rehashChild(left[node], depth + 1, lo, mid, h);
        rehashChild(right[node], depth + 1, mid, hi, h);
        hashNode(node, h);
    }

    private void hashNode(int node, Hasher h) {
        byte[] in = h.scratch;
        in[0] = NODE_PREFIX;
        copyChild(left[node], in, 1);
        copyChild(right[node], in, 1 + Sha256.SIZE);
        h.md.update(in, 0, 1 + 2 * Sha256.SIZE);
        h.finish(hash, node * Sha256.SIZE);
        dirty[node] = false;
    }

    private void copyChild(int c, byte[] out, int off) {
        if (c == EMPTY) {
            System.arraycopy(EMPTY_HASH, 0, out, off, Sha256.SIZE);
        } else if (c > 0) {
            System.arraycopy(hash, c * Sha256.SIZE, out, off, Sha256.SIZE);
        } else {
            System.arraycopy(leafHash, (-c - 1) * Sha256.SIZE, out, off, Sha256.SIZE);
        }
    }

    private void hashLeaf(int account, Hasher h) {
        byte[] in = h.scratch;
        in[0] = LEAF_PREFIX;
        System.arraycopy(accounts.addrs, account * Address.SIZE, in, 1, Address.SIZE);
        Bytes.putLong(in, 33, accounts.balance[account]);
        Bytes.putLong(in, 41, accounts.stake[account]);
        Bytes.putLong(in, 49, accounts.nonce[account]);
        h.md.update(in, 0, 1 + Address.SIZE + LEAF_VALUE_BYTES);
        h.finish(leafHash, account * Sha256.SIZE);
        leafDirty[account] = false;
    }

    /** The leaf hash of an account with these values, as a proof verifier computes it. */
    static byte[] leafHash(Address address, long balance, long stake, long nonce) {
        byte[] b = new byte[1 + Address.SIZE + LEAF_VALUE_BYTES];
        b[0] = LEAF_PREFIX;
        System.arraycopy(address.raw(), 0, b, 1, Address.SIZE);
        Bytes.putLong(b, 33, balance);
        Bytes.putLong(b, 41, stake);
        Bytes.putLong(b, 49, nonce);
        return Sha256.hash(b);
    }

    static byte[] nodeHash(byte[] l, byte[] r) {
        MessageDigest md = Sha256.threadDigest();
        md.update(NODE_PREFIX);
        md.update(l);
        md.update(r);
        return md.digest();
    }

    /**
     * The path from the root to where the account's leaf is or would be: the sibling hash at every
     * depth, then the leaf found there (the account itself, another account, or none).
     */
    AccountProof prove(Address address, ForkJoinPool pool) {
        root(pool);
        List<byte[]> siblings = new ArrayList<>();
        int l0 = left[ROOT];
        int r0 = right[ROOT];
        int terminal;
        boolean collapsedRoot = (l0 <= 0 && r0 <= 0) && (l0 == EMPTY || r0 == EMPTY);
        if (collapsedRoot) {
            terminal = l0 + r0;
        } else {
            byte[] key = address.raw();
            int node = ROOT;
            int depth = 0;
            while (true) {
                int b = (key[depth >>> 3] >>> (7 - (depth & 7))) & 1;
                siblings.add(childHash(child(node, 1 - b)));
                int c = child(node, b);
                if (c <= 0) {
                    terminal = c;
                    break;
                }
                node = c;
                depth++;
            }
        }
        Optional<Account> leaf = terminal < 0 ? Optional.of(accounts.account(-terminal - 1)) : Optional.empty();
        return new AccountProof(address, leaf, List.copyOf(siblings));
    }

    private byte[] childHash(int c) {
        if (c == EMPTY) {
            return EMPTY_HASH.clone();
        }
        if (c > 0) {
            return Arrays.copyOfRange(hash, c * Sha256.SIZE, (c + 1) * Sha256.SIZE);
        }
        int i = -c - 1;
        return Arrays.copyOfRange(leafHash, i * Sha256.SIZE, (i + 1) * Sha256.SIZE);
    }

    /** A digest and a scratch buffer for one thread; hashing allocates nothing. */
    private static final class Hasher {
        final MessageDigest md = Sha256.threadDigest();
        final byte[] scratch = new byte[1 + 2 * Sha256.SIZE];

        void finish(byte[] out, int off) {
            try {
                md.digest(out, off, Sha256.SIZE);
            } catch (DigestException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private final class RehashTask extends RecursiveAction {
        private static final long serialVersionUID = 1L;
        private final int node;
        private final int depth;
        private final int lo;
        private final int hi;

        RehashTask(int node, int depth, int lo, int hi) {
            this.node = node;
            this.depth = depth;
            this.lo = lo;
            this.hi = hi;
        }

        @Override
        protected void compute() {
            Hasher h = new Hasher();
            if (depth >= PARALLEL_DEPTH) {
                rehash(node, depth, lo, hi, h);
                return;
            }
            int mid = partition(lo, hi, depth);
            int l = left[node];
            int r = right[node];
            RehashTask lt = l > 0 && (mid > lo || dirty[l]) ? new RehashTask(l, depth + 1, lo, mid) : null;
            RehashTask rt = r > 0 && (hi > mid || dirty[r]) ? new RehashTask(r, depth + 1, mid, hi) : null;
            if (lt != null && rt != null) {
                invokeAll(lt, rt);
            } else if (lt != null) {
                lt.compute();
            } else if (rt != null) {
                rt.compute();
            }
            if (l < 0 && leafDirty[-l - 1]) {
                hashLeaf(-l - 1, h);
            }
            if (r < 0 && leafDirty[-r - 1]) {
                hashLeaf(-r - 1, h);
            }
            hashNode(node, h);
        }
    }
}
