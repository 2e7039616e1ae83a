package dev.prospector.agent.cli;

import dev.prospector.agent.common.Failure;
import dev.prospector.ledger.AccountProof;
import dev.prospector.ledger.Address;
import dev.prospector.ledger.AttestationSigner;
import dev.prospector.ledger.BlockFile;
import dev.prospector.ledger.BlockValidator;
import dev.prospector.ledger.BlockVerdict;
import dev.prospector.ledger.Chain;
import dev.prospector.ledger.Genesis;
import dev.prospector.ledger.InvalidReason;
import dev.prospector.ledger.LedgerNode;
import dev.prospector.ledger.MalformedException;
import dev.prospector.ledger.ParallelBlockExecutor;
import dev.prospector.ledger.SequentialBlockExecutor;
import dev.prospector.ledger.ShardExecutor;
import dev.prospector.ledger.Workload;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ForkJoinPool;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code prospector ledger}: generate, validate and query ledger shard block files. */
@Command(
        name = "ledger",
        mixinStandardHelpOptions = true,
        description = "Ledger shard tools: make, validate and query block files.",
        subcommands = {LedgerCommand.Gen.class, LedgerCommand.Validate.class, LedgerCommand.Balance.class})
public final class LedgerCommand implements Runnable {
    private static final HexFormat HEX = HexFormat.of();
    private static final String NOT_A_BLOCK_FILE = "not a ledger block file";

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: gen, validate or balance");
    }

    static BlockFile.Reader openBlockFile(Path file) {
        try {
            return new BlockFile.Reader(file);
        } catch (NoSuchFileException e) {
            throw new Failure("block file " + file + " does not exist; create one with `prospector ledger gen --out "
                    + file + "`");
        } catch (IOException e) {
            throw new Failure(
                    "cannot read block file " + file + ": " + e.getMessage() + "; check the path and its permissions");
        } catch (MalformedException e) {
            // The ledger's own message may already say "not a ledger block file (…)": say it once.
            String why = e.getMessage();
            String what = why.startsWith(NOT_A_BLOCK_FILE) ? why : NOT_A_BLOCK_FILE + " (" + why + ")";
            throw new Failure(file + " is " + what + "; pass a file written by `prospector ledger gen`");
        }
    }

    static int defaultThreads() {
        return Runtime.getRuntime().availableProcessors();
    }

    /** {@code ledger gen}: a genesis and blocks of signed transfers. */
    @Command(
            name = "gen",
            mixinStandardHelpOptions = true,
            description = {
                "Write a block file: a genesis and blocks of signed transfers.",
                "The genesis holds --accounts accounts, each block --txs signed transfers. An existing file is kept unless --force."
            })
    static final class Gen implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--txs", required = true, description = "Transfers per block.")
        int txs;

        @Option(
                names = "--accounts",
                required = true,
                description = "Accounts in the genesis (the first ones hold keys and send).")
        int accounts;

        @Option(
                names = "--contention",
                defaultValue = "0",
                description = "0..1: share of transfers paying one hot account (default ${DEFAULT-VALUE}).")
        double contention;

        @Option(
                names = "--seed",
                defaultValue = "1",
                description = "Seed for keys and transfers (default ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--blocks", defaultValue = "1", description = "Blocks to write (default ${DEFAULT-VALUE}).")
        int blocks;

        @Option(names = "--out", required = true, description = "Block file to write.")
        Path out;

        @Option(names = "--genesis-out", description = "Also write the genesis alone (what a node is configured with).")
        Path genesisOut;

        @Option(names = "--force", description = "Replace --out and --genesis-out if they exist.")
        boolean force;

        @Override
        public Integer call() throws Exception {
            Workload.Spec ws;
            try {
                ws = new Workload.Spec(accounts, txs, blocks, contention, seed);
            } catch (IllegalArgumentException e) {
                throw new Failure(e.getMessage());
            }
            Path parent = out.toAbsolutePath().getParent();
            if (parent != null && !Files.isDirectory(parent)) {
                throw new Failure("directory " + parent + " does not exist; create it or choose another --out");
            }
            refuseToReplace("--out", out, "chain.plf");
            if (genesisOut != null) {
                refuseToReplace("--genesis-out", genesisOut, "genesis.bin");
            }
            PrintWriter o = spec.commandLine().getOut();
            o.printf(Locale.ROOT, "genesis: %,d accounts...%n", accounts);
            o.flush();
            Workload w = Workload.start(ws);
            try (BlockFile.Writer file = new BlockFile.Writer(out, w.genesis())) {
                for (int b = 1; b <= blocks; b++) {
                    byte[] block = w.nextBlock(contention);
                    file.append(block);
                    o.printf(
                            Locale.ROOT,
                            "block %d/%d: %,d txs, root %s%n",
                            b,
                            blocks,
                            txs,
                            HEX.formatHex(w.builder().chain().state().root(null)));
                    o.flush();
                }
            } catch (IOException e) {
                throw new Failure("cannot write " + out + ": " + e.getMessage() + "; check the path and free space");
            }
            o.printf(Locale.ROOT, "wrote %s (%,d bytes)%n", out, Files.size(out));
            if (genesisOut != null) {
                try (var g = Files.newOutputStream(genesisOut)) {
                    w.genesis().write(g);
                } catch (IOException e) {
                    throw new Failure(
                            "cannot write " + genesisOut + ": " + e.getMessage() + "; check the path and free space");
                }
                o.printf(Locale.ROOT, "wrote genesis %s%n", genesisOut);
            }
            return 0;
        }

        /** As keygen does: an existing file is kept unless --force says otherwise. */
        private void refuseToReplace(String option, Path file, String example) {
            if (Files.isDirectory(file)) {
                throw new Failure(option + " " + file + " is a directory: name a file, e.g. " + file.resolve(example));
            }
            if (Files.exists(file) && !force) {
                throw new Failure("a file already exists at " + file + " (" + option
                        + "): keep it, or pass --force to replace it");
            }
        }
    }

    /** {@code ledger validate}: check every block of a file, printing per-block figures. */
    @Command(
            name = "validate",
            mixinStandardHelpOptions = true,
            description = {
                "Validate a block file block by block.",
                "Prints for each block its transactions, time, tx/s, state root and verdict; exits 1 if a block is invalid."
            })
    static final class Validate implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "FILE", description = "Block file from `ledger gen`.")
        Path file;

        @Option(names = "--threads", description = "Executor threads; 1 runs the sequential executor (default: cores).")
        Integer threads;

        @Option(names = "--no-signatures", description = "Skip signature checks (execution and state root only).")
        boolean noSignatures;

        @Option(
                names = "--data",
                description = "Persist into (or resume from) this node data directory: imports the file.")
        Path data;

        @Option(
                names = "--snapshot-every",
                defaultValue = "1000",
                description = "With --data: blocks between snapshots (default ${DEFAULT-VALUE}).")
        int snapshotEvery;

        @Override
        public Integer call() throws Exception {
            int t = threads == null ? defaultThreads() : threads;
            if (t < 1) {
                throw new Failure("--threads must be at least 1, got " + t);
            }
            if (data != null) {
                return importInto(t);
            }
            PrintWriter o = spec.commandLine().getOut();
            ForkJoinPool pool = t > 1 ? new ForkJoinPool(t) : null;
            int invalid = 0;
            try (BlockFile.Reader r = openBlockFile(file)) {
                Genesis g = r.genesis();
                o.printf(
                        Locale.ROOT,
                        "genesis %s: shard %d, %,d accounts; executor: %s, %d thread(s), signatures %s%n",
                        HEX.formatHex(g.hash()),
                        g.params().shard(),
                        g.accountCount(),
                        t > 1 ? "parallel" : "sequential",
                        t,
                        noSignatures ? "skipped" : "checked");
                o.flush();
                Chain chain;
                try {
                    chain = Chain.fromGenesis(g);
                } catch (MalformedException e) {
                    throw new Failure("the genesis in " + file + " is invalid: " + e.getMessage());
                }
                ShardExecutor ex = pool == null ? new SequentialBlockExecutor() : new ParallelBlockExecutor(pool);
                BlockValidator validator = new BlockValidator(ex, !noSignatures);
                long total = 0;
                long nanos = 0;
                for (Optional<byte[]> b = r.next(); b.isPresent(); b = r.next()) {
                    long t0 = System.nanoTime();
                    BlockVerdict v = validator.apply(b.get(), chain);
                    long dt = System.nanoTime() - t0;
                    if (v instanceof BlockVerdict.Valid ok) {
                        int n = ok.timings().txs();
                        total += n;
                        nanos += dt;
                        o.printf(
                                Locale.ROOT,
                                "block %d: %,d txs, %.1f ms, %,.0f tx/s, root %s, valid%n",
                                ok.height(),
                                n,
                                dt / 1e6,
                                n / (dt / 1e9),
                                HEX.formatHex(ok.stateRoot()));
                    } else {
                        BlockVerdict.Invalid bad = (BlockVerdict.Invalid) v;
                        invalid++;
                        o.printf(
                                Locale.ROOT,
                                "block %d: %.1f ms, root %s, invalid: %s (%s)%n",
                                bad.height(),
                                dt / 1e6,
                                HEX.formatHex(chain.state().root(pool)),
                                bad.reason().code(),
                                bad.detail());
                    }
                    o.flush();
                }
                if (nanos > 0) {
                    o.printf(
                            Locale.ROOT, "%,d txs in valid blocks, %,.0f tx/s overall%n", total, total / (nanos / 1e9));
                }
            } catch (MalformedException e) {
                throw new Failure(file + ": " + e.getMessage() + "; regenerate it with `prospector ledger gen`");
            } finally {
                if (pool != null) {
                    pool.shutdown();
                }
            }
            return invalid == 0 ? 0 : ExitCodes.CHECK_FAILED;
        }

        /** Validates the file's blocks into a persistent node, skipping those the directory already holds. */
        private int importInto(int t) throws IOException {
            PrintWriter o = spec.commandLine().getOut();
            if (snapshotEvery < 1) {
                throw new Failure("--snapshot-every must be at least 1 block, got " + snapshotEvery);
            }
            int invalid = 0;
            try (BlockFile.Reader r = openBlockFile(file)) {
                long t0 = System.nanoTime();
                LedgerNode.Config cfg = new LedgerNode.Config(Optional.of(data), t, snapshotEvery, !noSignatures);
                try (LedgerNode node = LedgerNode.open(r.genesis(), cfg, AttestationSigner.ed25519(new byte[32]))) {
                    o.printf(
                            Locale.ROOT,
                            "opened %s at height %d in %.0f ms (%d blocks replayed from the log), root %s%n",
                            data,
                            node.height(),
                            (System.nanoTime() - t0) / 1e6,
                            node.replayedBlocks(),
                            HEX.formatHex(node.stateRoot()));
                    o.flush();
                    for (Optional<byte[]> b = r.next(); b.isPresent(); b = r.next()) {
                        long t1 = System.nanoTime();
                        BlockVerdict v = node.apply(b.get());
                        long dt = System.nanoTime() - t1;
                        if (v instanceof BlockVerdict.Valid ok) {
                            int n = ok.timings().txs();
                            o.printf(
                                    Locale.ROOT,
                                    "block %d: %,d txs, %.1f ms (persisted), %,.0f tx/s, root %s, valid%n",
                                    ok.height(),
                                    n,
                                    dt / 1e6,
                                    n / (dt / 1e9),
                                    HEX.formatHex(ok.stateRoot()));
                        } else if (v instanceof BlockVerdict.Invalid old
                                && old.reason() == InvalidReason.WRONG_HEIGHT
                                && old.height() <= node.height()) {
                            o.printf(Locale.ROOT, "block %d: already in %s%n", old.height(), data);
                        } else {
                            BlockVerdict.Invalid bad = (BlockVerdict.Invalid) v;
                            invalid++;
                            o.printf(
                                    Locale.ROOT,
                                    "block %d: invalid: %s (%s)%n",
                                    bad.height(),
                                    bad.reason().code(),
                                    bad.detail());
                        }
                        o.flush();
                    }
                }
            } catch (MalformedException e) {
                throw new Failure(file + ": " + e.getMessage() + "; regenerate it with `prospector ledger gen`");
            } catch (IOException e) {
                throw new Failure("cannot use data directory " + data + ": " + e.getMessage());
            }
            return invalid == 0 ? 0 : ExitCodes.CHECK_FAILED;
        }
    }

    /** {@code ledger balance}: an account's balance, optionally with its Merkle proof. */
    @Command(
            name = "balance",
            mixinStandardHelpOptions = true,
            description = {
                "Show an account's balance, optionally with its Merkle proof.",
                "Reads the head of a block file (replaying its blocks) or of a node's data directory."
            })
    static final class Balance implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "ADDRESS", description = "Account address: 64 hex digits (its Ed25519 public key).")
        String address;

        @Option(names = "--file", description = "Block file: its genesis and, without --data, its blocks to replay.")
        Path file;

        @Option(names = "--genesis", description = "Genesis file of the shard (with --data, instead of --file).")
        Path genesisFile;

        @Option(
                names = "--data",
                description = "A node's ledger data directory: read its state instead of replaying blocks.")
        Path data;

        @Option(names = "--proof", description = "Print the sparse Merkle proof and check it against the state root.")
        boolean proof;

        @Override
        public Integer call() throws Exception {
            Address a;
            try {
                a = Address.fromHex(address.trim());
            } catch (IllegalArgumentException e) {
                throw new Failure("ADDRESS " + address + " is not an address: " + e.getMessage());
            }
            PrintWriter o = spec.commandLine().getOut();
            if (file == null && (genesisFile == null || data == null)) {
                throw new Failure(
                        "say where the shard is: --file BLOCKFILE, or --genesis GENESIS --data DIR of a node");
            }
            if (data != null && !Files.isDirectory(data)) {
                throw new Failure("data directory " + data + " does not exist; pass the node's ledger directory");
            }
            BlockFile.Reader r = file == null ? null : openBlockFile(file);
            try {
                Genesis g = r != null ? r.genesis() : readGenesis(genesisFile);
                LedgerNode.Config cfg =
                        new LedgerNode.Config(Optional.ofNullable(data), defaultThreads(), Integer.MAX_VALUE, false);
                try (LedgerNode node = LedgerNode.open(g, cfg, AttestationSigner.ed25519(new byte[32]))) {
                    if (data == null) {
                        for (Optional<byte[]> b = r.next(); b.isPresent(); b = r.next()) {
                            BlockVerdict v = node.apply(b.get());
                            if (v instanceof BlockVerdict.Invalid bad) {
                                o.printf(
                                        "stopping at block %d: invalid: %s (%s)%n",
                                        bad.height(), bad.reason().code(), bad.detail());
                                break;
                            }
                        }
                    }
                    return print(o, node, a);
                }
            } catch (IOException e) {
                throw new Failure("cannot open the ledger data in " + data + ": " + e.getMessage());
            } finally {
                if (r != null) {
                    r.close();
                }
            }
        }

        private static Genesis readGenesis(Path f) {
            try {
                return Genesis.read(f);
            } catch (NoSuchFileException e) {
                throw new Failure(
                        "genesis file " + f + " does not exist; pass the shard's genesis (ledger gen --genesis-out)");
            } catch (IOException e) {
                throw new Failure("cannot read genesis " + f + ": " + e.getMessage());
            } catch (MalformedException e) {
                throw new Failure(f + " is not a ledger genesis (" + e.getMessage() + ")");
            }
        }

        private int print(PrintWriter o, LedgerNode node, Address a) {
            byte[] root = node.stateRoot();
            AccountProof p = node.prove(a);
            o.printf("address %s%nheight %d%nstate root %s%n", a.hex(), node.height(), HEX.formatHex(root));
            p.account()
                    .ifPresentOrElse(
                            acc -> o.printf(
                                    "balance %d%nstake %d%nnonce %d%n", acc.balance(), acc.stake(), acc.nonce()),
                            () -> o.printf("no account (balance 0)%n"));
            if (!proof) {
                return 0;
            }
            o.printf("proof: %d siblings, root first%n", p.siblings().size());
            for (byte[] s : p.siblings()) {
                o.printf("  %s%n", HEX.formatHex(s));
            }
            if (p.account().isEmpty()) {
                o.printf(
                        "  ends at %s (proves absence)%n",
                        p.leaf().map(l -> "account " + l.address().hex()).orElse("an empty subtree"));
            }
            boolean ok = p.verify(root);
            o.printf("proof %s against state root%n", ok ? "verifies" : "DOES NOT verify");
            return ok ? 0 : ExitCodes.CHECK_FAILED;
        }
    }
}
