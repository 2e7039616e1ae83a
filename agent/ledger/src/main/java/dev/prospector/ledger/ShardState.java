package dev.prospector.ledger;

import java.util.Arrays;
import java.util.Collections;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ForkJoinPool;

/**
 * The accounts of one shard and their sparse Merkle tree, held in flat arrays so that a
 * 1,000,000-account shard fits in well under 256 MB of heap (about 41 bytes of tree and 56 bytes of
 * account per entry) and lookups allocate nothing.
 *
 * <p>Accounts are numbered densely in insertion order; an open-addressing table (linear probing on
 * the address's first eight bytes, which are uniformly distributed) maps an address to its number.
 * Only the single-threaded parts of a block touch this class; executors read it before and write it
 * after their parallel phase.
 */
public final class ShardState {
    /** The account table grows beyond this load: linear probing stays short below 3/4. */
    private static final double MAX_TABLE_LOAD = 0.75;

    private static final int MIN_CAPACITY = 64;

    final long minValidatorStake;
    byte[] addrs;
    long[] balance;
    long[] stake;
    long[] nonce;
    private int size;
    private int[] table;
    private final SparseMerkleTree tree;
    private final NavigableMap<Address, Long> validators = new TreeMap<>();

    public ShardState(int expectedAccounts, long minValidatorStake) {
        int cap = Math.max(MIN_CAPACITY, expectedAccounts + 1024);
        this.minValidatorStake = minValidatorStake;
        addrs = new byte[cap * Address.SIZE];
        balance = new long[cap];
        stake = new long[cap];
        nonce = new long[cap];
        table = new int[tableSizeFor(cap)];
        tree = new SparseMerkleTree(this, cap);
    }

    private static int tableSizeFor(int accounts) {
        int slots = Integer.highestOneBit(Math.max(16, accounts));
        while (slots * MAX_TABLE_LOAD < accounts) {
            slots <<= 1;
        }
        return slots;
    }

    public int size() {
        return size;
    }

    /** Bytes held by this state's arrays (accounts, table and tree): its heap cost, give or take headers. */
    public long heapBytes() {
        return (long) addrs.length
                + 8L * (balance.length + stake.length + nonce.length)
                + 4L * table.length
                + tree.heapBytes();
    }

    private static int home(byte[] a, int off, int mask) {
        long h = Bytes.getLong(a, off) * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 32) & mask;
    }

    private boolean addressAt(int account, byte[] a, int off) {
        return Arrays.equals(addrs, account * Address.SIZE, (account + 1) * Address.SIZE, a, off, off + Address.SIZE);
    }

    /** The account number of an address, or -1. */
    int indexOf(byte[] a, int off) {
        int mask = table.length - 1;
        for (int i = home(a, off, mask); ; i = (i + 1) & mask) {
            int e = table[i];
            if (e == 0) {
                return -1;
            }
            if (addressAt(e - 1, a, off)) {
                return e - 1;
            }
        }
    }

    int indexOf(Address a) {
        return indexOf(a.raw(), 0);
    }

    /** Adds a new account; the address must not exist. */
    int add(Address a, long bal, long stk, long non) {
        if (size == balance.length) {
            grow();
        }
        int i = size++;
        System.arraycopy(a.raw(), 0, addrs, i * Address.SIZE, Address.SIZE);
        balance[i] = bal;
        stake[i] = stk;
        nonce[i] = non;
        if (size > table.length * MAX_TABLE_LOAD) {
            rehashTable(table.length << 1);
        }
        insertIntoTable(i);
        tree.insert(i);
        noteStake(a, stk);
        return i;
    }

    /** Writes an existing account and marks it for rehashing. */
    void set(int i, long bal, long stk, long non) {
        long oldStake = stake[i];
        balance[i] = bal;
        stake[i] = stk;
        nonce[i] = non;
        tree.touch(i);
        if (oldStake != stk) {
            noteStake(address(i), stk);
        }
    }

    /** Bookkeeping after account i's values were written directly (parallel commit): tree and validators. */
    void afterWrite(int i, long oldStake) {
        tree.touch(i);
        if (oldStake != stake[i]) {
            noteStake(address(i), stake[i]);
        }
    }

    /** Removes the most recently added account (rollback of a rejected block). */
    void removeLast() {
        int i = size - 1;
        tree.remove(i);
        noteStake(address(i), 0);
        int mask = table.length - 1;
        int slot = home(addrs, i * Address.SIZE, mask);
        while (table[slot] != i + 1) {
            slot = (slot + 1) & mask;
        }
        // Backward-shift deletion keeps every remaining entry reachable from its home slot.
        table[slot] = 0;
        for (int j = (slot + 1) & mask; table[j] != 0; j = (j + 1) & mask) {
            int k = home(addrs, (table[j] - 1) * Address.SIZE, mask);
            boolean movable = slot <= j ? (k <= slot || k > j) : (k <= slot && k > j);
            if (movable) {
                table[slot] = table[j];
                table[j] = 0;
                slot = j;
            }
        }
        balance[i] = 0;
        stake[i] = 0;
        nonce[i] = 0;
        size--;
    }

    private void noteStake(Address a, long stk) {
        if (stk >= minValidatorStake && stk > 0) {
            validators.put(a, stk);
        } else {
            validators.remove(a);
        }
    }

    private void insertIntoTable(int i) {
        int mask = table.length - 1;
        int slot = home(addrs, i * Address.SIZE, mask);
        while (table[slot] != 0) {
            slot = (slot + 1) & mask;
        }
        table[slot] = i + 1;
    }

    private void rehashTable(int slots) {
        table = new int[slots];
        for (int i = 0; i < size; i++) {
            insertIntoTable(i);
        }
    }

    private void grow() {
        int cap = balance.length + (balance.length >> 1);
        addrs = Arrays.copyOf(addrs, cap * Address.SIZE);
        balance = Arrays.copyOf(balance, cap);
        stake = Arrays.copyOf(stake, cap);
        nonce = Arrays.copyOf(nonce, cap);
        tree.ensureAccountCapacity(cap);
    }

    Address address(int i) {
        return Address.of(addrs, i * Address.SIZE);
    }

    Account account(int i) {
        return new Account(address(i), balance[i], stake[i], nonce[i]);
    }

    public Optional<Account> account(Address a) {
        int i = indexOf(a);
        return i < 0 ? Optional.empty() : Optional.of(account(i));
    }

    /** Validators (stake at least the minimum) in address order, with their stake. */
    public NavigableMap<Address, Long> validators() {
        return Collections.unmodifiableNavigableMap(validators);
    }

    /** The state root; rehashes what changed since the last call, in parallel when given a pool. */
    public byte[] root(ForkJoinPool pool) {
        return tree.root(pool);
    }

    public AccountProof prove(Address a, ForkJoinPool pool) {
        return tree.prove(a, pool);
    }
}
