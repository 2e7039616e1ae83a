package dev.prospector.agent.node;

import dev.prospector.agent.common.Failure;
import dev.prospector.agent.common.Version;
import dev.prospector.agent.outbox.OutboxJournal;
import dev.prospector.agent.pos.BandwidthProbe;
import dev.prospector.agent.pos.HttpBandwidthProbe;
import dev.prospector.agent.pos.PlotFile;
import dev.prospector.agent.pos.PlotStore;
import dev.prospector.agent.storage.StateDirLock;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.KeyCustodyException;
import dev.prospector.attest.ReportSigner;
import dev.prospector.attest.Sha256;
import dev.prospector.hardware.Board;
import dev.prospector.hardware.BoardConfig;
import dev.prospector.hardware.BoardSelection;
import dev.prospector.hardware.Boards;
import dev.prospector.hardware.Fault;
import dev.prospector.hardware.board.BoardInfo;
import dev.prospector.hardware.io.BoardIo;
import dev.prospector.hardware.io.ButtonListener;
import dev.prospector.hardware.io.IoConfig;
import dev.prospector.ledger.BlockFile;
import dev.prospector.ledger.Genesis;
import dev.prospector.ledger.LedgerNode;
import dev.prospector.ledger.MalformedException;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.UnaryOperator;

/**
 * The one place where the agent's parts are put together: board (hardware), keys and chain
 * (attest), outbox and MQTT link (agent). Commands and the demo call it; nothing else constructs
 * these parts.
 */
public final class AgentWiring {
    /** Length of a reward epoch. */
    public static final Duration EPOCH_LENGTH = Duration.ofHours(1);
    /** Default bound on the outbox: about a day of reports at 30 s intervals. */
    public static final long DEFAULT_OUTBOX_BYTES = 8L << 20;
    /** Blocks between ledger snapshots (a restart replays at most this many). */
    public static final int LEDGER_SNAPSHOT_EVERY = 64;
    /** Outbox file name inside the data dir. */
    public static final String OUTBOX_FILE = "outbox.journal";

    private AgentWiring() {}

    /**
     * Settings of the proofs of service (see docs/REWARDS.md and {@link PlotFile}).
     *
     * @param plotBytes size of the plot in the data dir (rounded down to a power of two leaves);
     *     0: no plot
     * @param plotReserve bytes of the data dir's disk that plotting never fills
     * @param plotRate most bytes a second plotting writes; 0: unlimited
     * @param measureEndpoints base URLs of the measurement endpoints for bandwidth tests
     * @param measureBytes bytes each way per endpoint in a bandwidth test
     */
    public record ProofSettings(
            long plotBytes, long plotReserve, long plotRate, List<URI> measureEndpoints, long measureBytes) {
        /** Default plot on a board. */
        public static final long DEFAULT_PLOT_BYTES = 1L << 30;
        /** Default disk reserve. */
        public static final long DEFAULT_RESERVE = 1L << 30;
        /** Smallest plot: 64 KiB. */
        public static final long MIN_PLOT_BYTES = 64L << 10;
        /** Smallest and largest bandwidth test, each way. */
        public static final long MIN_MEASURE_BYTES = 1L << 10;

        public static final long MAX_MEASURE_BYTES = 64L << 20;
        /** No plot and no bandwidth test (tests, tools, the demo unless it asks for them). */
        public static final ProofSettings OFF =
                new ProofSettings(0, DEFAULT_RESERVE, 0, List.of(), HttpBandwidthProbe.DEFAULT_BYTES);

        public ProofSettings {
            measureEndpoints = List.copyOf(measureEndpoints);
            if (plotBytes != 0 && plotBytes < MIN_PLOT_BYTES) {
                throw new Failure("--plot-size " + plotBytes + " is too small: use 0 (no plot) or at least 64KiB");
            }
            if (plotBytes > (1L << 42)) {
                throw new Failure("--plot-size " + plotBytes + " is too large: at most 4TiB");
            }
            if (plotReserve < 0) {
                throw new Failure("--plot-reserve must not be negative");
            }
            if (plotRate < 0) {
                throw new Failure("--plot-rate must not be negative (0: unlimited)");
            }
            if (measureBytes < MIN_MEASURE_BYTES || measureBytes > MAX_MEASURE_BYTES) {
                throw new Failure("--measure-bytes " + measureBytes + " is out of range: use 1KiB to 64MiB");
            }
            for (URI u : measureEndpoints) {
                if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme()) || u.getHost() == null) {
                    throw new Failure("--measure-endpoint " + u + " is not an http:// or https:// URL with a host");
                }
                if (u.getQuery() != null || u.getFragment() != null) {
                    throw new Failure("--measure-endpoint " + u + " must not have a query or fragment");
                }
            }
        }

        /** The board's defaults: a 1 GiB plot, a 1 GiB reserve, unthrottled, no measurement endpoint. */
        public static ProofSettings boardDefaults() {
            return new ProofSettings(
                    DEFAULT_PLOT_BYTES, DEFAULT_RESERVE, 0, List.of(), HttpBandwidthProbe.DEFAULT_BYTES);
        }

        /** These settings with a plot of {@code bytes} (0: none). */
        public ProofSettings withPlot(long bytes) {
            return new ProofSettings(bytes, plotReserve, plotRate, measureEndpoints, measureBytes);
        }

        /** These settings measuring against {@code endpoints}, {@code bytes} each way. */
        public ProofSettings withMeasurement(List<URI> endpoints, long bytes) {
            return new ProofSettings(plotBytes, plotReserve, plotRate, endpoints, bytes);
        }
    }

    /**
     * Settings of {@code prospector run}.
     *
     * @param broker the broker
     * @param fleet the fleet name
     * @param dataDir key, chain state and outbox live here
     * @param board the board to open (implementation, root, interface, power sensor, emulated faults)
     * @param io the status LED and button, if the board has them
     * @param interval time between reports
     * @param outboxBytes bound on unacknowledged reports kept on disk
     * @param ledger a ledger file (from {@code prospector ledger gen}) whose genesis starts this
     *     board's shard; empty for no shard
     * @param verifierKeys public keys (PEM) of the verifiers whose signed receipts the board obeys;
     *     empty: receipts are ignored and the broker's acknowledgement counts as delivery
     * @param receiptTimeout how long to wait for a report's receipt before sending it again
     * @param proofs plot and bandwidth tests ({@link ProofSettings#OFF} unless asked for)
     */
    public record RunSettings(
            BrokerUrl broker,
            String fleet,
            Path dataDir,
            BoardConfig board,
            IoConfig io,
            Duration interval,
            long outboxBytes,
            Optional<Path> ledger,
            List<Path> verifierKeys,
            Duration receiptTimeout,
            ProofSettings proofs) {

        /** Without proofs of service. */
        public RunSettings(
                BrokerUrl broker,
                String fleet,
                Path dataDir,
                BoardConfig board,
                IoConfig io,
                Duration interval,
                long outboxBytes,
                Optional<Path> ledger,
                List<Path> verifierKeys,
                Duration receiptTimeout) {
            this(
                    broker,
                    fleet,
                    dataDir,
                    board,
                    io,
                    interval,
                    outboxBytes,
                    ledger,
                    verifierKeys,
                    receiptTimeout,
                    ProofSettings.OFF);
        }

        /** Without trusted verifier keys. */
        public RunSettings(
                BrokerUrl broker,
                String fleet,
                Path dataDir,
                BoardConfig board,
                IoConfig io,
                Duration interval,
                long outboxBytes,
                Optional<Path> ledger) {
            this(
                    broker,
                    fleet,
                    dataDir,
                    board,
                    io,
                    interval,
                    outboxBytes,
                    ledger,
                    List.of(),
                    AgentNode.DEFAULT_RECEIPT_TIMEOUT);
        }

        /** An emulated or auto-detected board without LED or button, and no ledger shard. */
        public RunSettings(
                BrokerUrl broker,
                String fleet,
                Path dataDir,
                BoardSelection board,
                Duration interval,
                long outboxBytes,
                long seed,
                Set<Fault> faults) {
            this(broker, fleet, dataDir, board, interval, outboxBytes, seed, faults, Optional.empty());
        }

        /** As above, with a ledger shard. */
        public RunSettings(
                BrokerUrl broker,
                String fleet,
                Path dataDir,
                BoardSelection board,
                Duration interval,
                long outboxBytes,
                long seed,
                Set<Fault> faults,
                Optional<Path> ledger) {
            this(
                    broker,
                    fleet,
                    dataDir,
                    BoardConfig.defaults(dataDir)
                            .withSelection(board)
                            .withSeed(seed)
                            .withFaults(faults),
                    NO_IO,
                    interval,
                    outboxBytes,
                    ledger);
        }

        public RunSettings {
            verifierKeys = List.copyOf(verifierKeys);
            if (receiptTimeout.toMillis() < 100) {
                throw new Failure(
                        "--receipt-timeout " + receiptTimeout.toMillis() + "ms is too short: use at least 100ms");
            }
            requireFleet(fleet);
            if (interval.toMillis() < 100) {
                throw new Failure("--interval " + interval.toMillis() + "ms is too short: use at least 100ms");
            }
            if (outboxBytes < 64 * 1024) {
                throw new Failure("--outbox-size must be at least 64 KiB");
            }
        }

        /**
         * An emulated board (seed 1, no faults, no LED or button, no ledger shard) with the default
         * outbox bound: what the tests' boards and the local stack's are, before their withers.
         */
        public static RunSettings emulated(BrokerUrl broker, String fleet, Path dataDir, Duration interval) {
            return new RunSettings(
                    broker, fleet, dataDir, BoardSelection.EMULATED, interval, DEFAULT_OUTBOX_BYTES, 1, Set.of());
        }

        /** These settings, trusting receipts signed by the verifier keys in {@code files}. */
        public RunSettings withVerifierKeys(List<Path> files) {
            return new RunSettings(
                    broker, fleet, dataDir, board, io, interval, outboxBytes, ledger, files, receiptTimeout, proofs);
        }

        /** These settings with another receipt timeout. */
        public RunSettings withReceiptTimeout(Duration timeout) {
            return new RunSettings(
                    broker, fleet, dataDir, board, io, interval, outboxBytes, ledger, verifierKeys, timeout, proofs);
        }

        /** These settings with other proof-of-service settings. */
        public RunSettings withProofs(ProofSettings p) {
            return new RunSettings(
                    broker, fleet, dataDir, board, io, interval, outboxBytes, ledger, verifierKeys, receiptTimeout, p);
        }

        byte[] configHash() {
            return AgentWiring.configHash(
                    "run",
                    broker.toString(),
                    fleet,
                    board.toString(),
                    io.toString(),
                    interval.toString(),
                    Long.toString(outboxBytes),
                    ledger.toString(),
                    verifierKeys.toString(),
                    proofs.toString());
        }
    }

    /** Builds an agent on a plain connection; the key is created in the data dir on first start. */
    public static AgentNode agent(RunSettings s, Clock clock) {
        return agent(s, clock, UnaryOperator.identity(), () -> {});
    }

    /**
     * Builds an agent; {@code security} adds TLS and credentials to its MQTT settings (see
     * {@code BrokerSecurityOptions}); {@code afterReset} runs after a factory reset by the button.
     * The key is created in the data dir on first start.
     */
    public static AgentNode agent(
            RunSettings s, Clock clock, UnaryOperator<MqttSettings> security, Runnable afterReset) {
        return agent(s, clock, security, afterReset, UnaryOperator.identity());
    }

    /**
     * Builds an agent whose parts {@code customize} may replace before the node is made: how tests
     * give a board a plot store or a bandwidth probe that cheats ({@link AgentNode.Parts#withPlot},
     * {@link AgentNode.Parts#withProbe}).
     */
    public static AgentNode agent(RunSettings s, Clock clock, UnaryOperator<AgentNode.Parts> customize) {
        return agent(s, clock, UnaryOperator.identity(), () -> {}, customize);
    }

    private static AgentNode agent(
            RunSettings s,
            Clock clock,
            UnaryOperator<MqttSettings> security,
            Runnable afterReset,
            UnaryOperator<AgentNode.Parts> customize) {
        prepareDataDir(s.dataDir());
        StateDirLock lock = lockDataDir(s.dataDir());
        try {
            return agent(s, clock, security, afterReset, lock, customize);
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    private static AgentNode agent(
            RunSettings s,
            Clock clock,
            UnaryOperator<MqttSettings> security,
            Runnable afterReset,
            StateDirLock lock,
            UnaryOperator<AgentNode.Parts> customize) {
        DeviceKeys keys = identity(s.dataDir());
        TrustedVerifiers verifiers;
        try {
            verifiers = TrustedVerifiers.load(s.verifierKeys());
        } catch (KeyCustodyException | IllegalArgumentException e) {
            throw new Failure("--verifier-key: " + e.getMessage()
                    + " (give the verifier's receipt-key/device.pub, from its state dir)");
        }
        String device = keys.deviceId().value();
        OutboxJournal outbox = OutboxJournal.open(s.dataDir().resolve(OUTBOX_FILE), s.outboxBytes(), device);
        ChainState chain = chain(s.dataDir(), outbox);
        ReportSigner signer = new ReportSigner(keys, chain);
        Board board = Boards.open(s.board().withDataDir(s.dataDir()).withClock(clock));
        byte[] configHash = s.configHash();
        // The broker never delivers this board a packet larger than it can use: a report's size (see
        // below), or a ledger block when the board keeps a shard (see LedgerService); each topic's
        // own bound (a receipt 8 KiB, TrustedVerifiers) is checked on arrival. Paho 1.2.5 checks
        // the packets it SENDS against the maximum we announce (its getters are swapped), so the
        // announced maximum must hold our largest report: one with a storage audit's openings
        // (tens of KiB) would otherwise never leave the board.
        long maxPacket = s.ledger().isPresent()
                ? LedgerService.MAX_BLOCK_BYTES + PACKET_OVERHEAD
                : Math.max(TrustedVerifiers.MAX_RECEIPT_BYTES, dev.prospector.attest.Limits.MAX_REPORT_BYTES)
                        + PACKET_OVERHEAD;
        MqttSettings mqtt = security.apply(MqttSettings.of(s.broker(), "prospector-" + device))
                .withMaxPacketBytes(maxPacket);
        Optional<LedgerService> ledger =
                s.ledger().map(file -> ledger(file, s.dataDir().resolve("ledger"), keys, s.fleet()));
        PlotStore plot = plot(s, keys);
        var parts = new AgentNode.Parts(
                s.fleet(),
                board,
                keys,
                chain,
                signer,
                reportFactory(s.fleet(), configHash, clock, board.info()),
                outbox,
                s.interval(),
                configHash,
                clock,
                ledger,
                verifiers,
                s.receiptTimeout(),
                lock,
                AgentNode.Threads.forDevice(device),
                plot,
                probe(s.proofs()));
        AgentNode node;
        try {
            parts = customize.apply(parts);
            node = new AgentNode(parts, (will, listener) -> new MqttLink(mqtt, will, listener));
        } catch (RuntimeException e) {
            plot.close();
            throw e;
        }
        if (parts.plot() != plot) {
            plot.close();
        } else if (plot instanceof PlotFile f) {
            f.start("plot-" + device);
        }
        if (s.io().ledPin().isPresent() || s.io().button().isPresent()) {
            attachIo(node, s, board, clock, afterReset);
        }
        return node;
    }

    /**
     * The board's plot in its data dir, or none with {@code --plot-size 0}. A plot that cannot be
     * opened (the files cannot be created) is logged and left out: the board still reports.
     */
    static PlotStore plot(RunSettings s, DeviceKeys keys) {
        ProofSettings p = s.proofs();
        if (p.plotBytes() == 0) {
            return PlotStore.none();
        }
        try {
            return PlotFile.open(
                    s.dataDir(),
                    keys.deviceId(),
                    PlotFile.Settings.of(p.plotBytes(), p.plotReserve(), p.plotRate()),
                    PlotFile.Environment.real(s.dataDir()));
        } catch (IOException e) {
            org.tinylog.Logger.error(
                    "the plot in {} cannot be opened ({}): reporting without a plot; fix the data dir and restart",
                    s.dataDir(),
                    e.getMessage());
            return PlotStore.none();
        }
    }

    /** The bandwidth probe of the configured measurement endpoints, or none. */
    static BandwidthProbe probe(ProofSettings p) {
        return p.measureEndpoints().isEmpty()
                ? BandwidthProbe.none()
                : new HttpBandwidthProbe(p.measureEndpoints(), p.measureBytes(), HttpBandwidthProbe.DEFAULT_TIMEOUT);
    }

    /** Room in an MQTT packet beyond its payload: fixed header, topic, properties. */
    static final int PACKET_OVERHEAD = 1024;

    /**
     * One agent per data dir: two would publish under one client id, knock each other off the
     * broker and fork the chain. The lock is the kernel's (released when the process dies).
     */
    private static StateDirLock lockDataDir(Path dataDir) {
        try {
            return StateDirLock.acquire(dataDir, "data dir");
        } catch (StateDirLock.HeldException e) {
            throw new Failure(e.getMessage(), Failure.Kind.UNAVAILABLE);
        } catch (IOException e) {
            throw new Failure("cannot lock data dir " + dataDir + ": " + e.getMessage()
                    + " (give the service user write access to it)");
        }
    }

    /**
     * The board's identity: its key in the data dir, made on first start. A key that is missing
     * while the data dir holds a chain state or an outbox is not made anew: that device's reports
     * and chain would go on under another identity (or be lost) without anyone deciding so. A
     * dangling symlink in place of the key (its storage not mounted) is refused for the same reason.
     */
    static DeviceKeys identity(Path dataDir) {
        Path key = dataDir.resolve(DeviceKeys.PRIVATE_KEY_FILE);
        try {
            if (Files.isSymbolicLink(key) && !Files.exists(key)) {
                throw new Failure(
                        "device key " + key + " is a symbolic link to " + readLink(key)
                                + ", which does not exist (storage not mounted?): mount or restore it; a new key would make this board another device");
            }
            if (!Files.exists(key)) {
                List<String> state = new ArrayList<>();
                for (String f : List.of(ChainState.FILE, OUTBOX_FILE)) {
                    if (Files.exists(dataDir.resolve(f))) {
                        state.add(f);
                    }
                }
                if (!state.isEmpty()) {
                    throw new Failure("no device key at " + key + " but " + String.join(" and ", state)
                            + " of a device exist in " + dataDir
                            + ": restore the key (device.key), or, to start over as a new device,"
                            + " move " + String.join(" and ", state)
                            + " aside (reports not yet delivered are then lost)");
                }
            }
            return DeviceKeys.loadOrCreate(dataDir);
        } catch (KeyCustodyException e) {
            throw new Failure(e.getMessage());
        }
    }

    private static String readLink(Path link) {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (IOException e) {
            return "?";
        }
    }

    /** The chain state is written every this many reports (and at {@link #CHECKPOINT_EVERY}, at a clean stop). */
    public static final int CHECKPOINT_REPORTS = 128;
    /** ... or when this much time has passed since the last write, whichever comes first. */
    public static final Duration CHECKPOINT_EVERY = Duration.ofHours(1);

    /**
     * Opens the chain state in {@code dataDir} for a board whose {@code outbox} holds every report
     * durably before the chain moves: the outbox is the record of the chain's position, and
     * {@code chain.state} a checkpoint written every {@link #CHECKPOINT_REPORTS} reports or
     * {@link #CHECKPOINT_EVERY}, each recorded in the outbox; then reconciles the two.
     */
    static ChainState chain(Path dataDir, OutboxJournal outbox) {
        return chain(dataDir, outbox, CHECKPOINT_REPORTS, CHECKPOINT_EVERY);
    }

    /** {@link #chain(Path, OutboxJournal)} with another checkpoint interval (tests). */
    static ChainState chain(Path dataDir, OutboxJournal outbox, int reports, Duration every) {
        ChainState chain = ChainState.open(dataDir);
        chain.checkpointRarely(reports, every, c -> outbox.noteCheckpoint(c.chain(), c.seq()));
        reconcile(chain, outbox);
        return chain;
    }

    /**
     * Brings the chain state and the outbox into line (see {@link ChainState#reconcile}): reports
     * that may be lost are declared in the outbox's losses (and so in the next report's
     * {@code lost} claim), and the outbox's record of the chain's head is set to the chain state's.
     * Idempotent: a second call finds them in step.
     */
    static void reconcile(ChainState chain, OutboxJournal outbox) {
        var stored = outbox.lastAppended()
                .map(a -> new ChainState.Stored(
                        a.seq(),
                        a.chain().filter(c -> c.length > 0),
                        a.sha256(),
                        a.chain().map(outbox::checkpointed).orElse(java.util.OptionalLong.empty())));
        ChainState.Reconciled r = chain.reconcile(stored);
        if (r instanceof ChainState.Reconciled.NewChain n) {
            outbox.declareLost(n.lostFrom(), n.lostTo());
        } else if (r instanceof ChainState.Reconciled.StoreBehind b) {
            outbox.declareLost(b.from(), b.to());
            outbox.markLast(b.to(), b.chain(), b.head());
        }
    }

    /** No status LED, no button. */
    public static final IoConfig NO_IO = new IoConfig(Optional.empty(), true, Optional.empty());

    /**
     * Opens the status LED and button (Pi4J; the mock platform off a Pi) and connects them to the
     * node: a short press reports now; a long press resets the chain (chain state and outbox, and
     * with a second long press the key) and then runs {@code afterReset}, which ends the process so
     * that systemd starts it again on a clean chain.
     */
    private static void attachIo(AgentNode node, RunSettings s, Board board, Clock clock, Runnable afterReset) {
        ScheduledExecutorService ticks = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "board-io");
            t.setDaemon(true);
            return t;
        });
        ButtonListener listener = new ButtonListener() {
            @Override
            public void reportNow() {
                node.reportSoon();
            }

            @Override
            public void factoryReset(ResetScope scope) {
                node.close();
                factoryResetFiles(s.dataDir(), scope == ResetScope.CHAIN_STATE_AND_KEY);
                afterReset.run();
            }
        };
        try {
            node.attach(BoardIo.open(s.io(), board.info(), clock, listener, ticks), ticks);
        } catch (IllegalStateException e) {
            ticks.shutdownNow();
            throw new Failure(e.getMessage());
        }
    }

    /** Deletes the chain state and the outbox (and the key, when asked twice): a factory reset. */
    static void factoryResetFiles(Path dataDir, boolean key) {
        List<String> files = new ArrayList<>(List.of(ChainState.FILE, OUTBOX_FILE));
        if (key) {
            files.addAll(List.of(DeviceKeys.PRIVATE_KEY_FILE, DeviceKeys.PUBLIC_KEY_FILE, DeviceKeys.ROTATIONS_FILE));
            // A plot is bound to the device: a new key needs a new plot.
            files.addAll(List.of(PlotFile.META, PlotFile.BIN, PlotFile.TREE));
        }
        for (String f : files) {
            try {
                Files.deleteIfExists(dataDir.resolve(f));
            } catch (IOException e) {
                org.tinylog.Logger.error("factory reset: cannot delete {}: {}", dataDir.resolve(f), e.getMessage());
            }
        }
        org.tinylog.Logger.warn(
                "factory reset by the button: removed {} from {}; the next start begins a new chain{}",
                files,
                dataDir,
                key ? " with a new key (a new device id)" : "");
    }

    /** Opens (and recovers) the board's ledger shard from the genesis at the head of a ledger file. */
    static LedgerService ledger(Path file, Path dir, DeviceKeys keys, String fleet) {
        Genesis genesis;
        try (BlockFile.Reader reader = new BlockFile.Reader(file)) {
            genesis = reader.genesis();
        } catch (NoSuchFileException e) {
            throw new Failure(
                    "ledger file " + file + " does not exist: make one with `prospector ledger gen` or fix --ledger");
        } catch (IOException | MalformedException e) {
            throw new Failure("ledger file " + file + " is not a ledger file (" + e.getMessage()
                    + "): make one with `prospector ledger gen`");
        }
        try {
            LedgerNode node = LedgerNode.open(
                    genesis,
                    new LedgerNode.Config(
                            Optional.of(dir), Runtime.getRuntime().availableProcessors(), LEDGER_SNAPSHOT_EVERY, true),
                    LedgerService.signer(keys));
            return new LedgerService(node, fleet, keys.deviceId().value());
        } catch (IOException | MalformedException e) {
            throw new Failure("cannot open the ledger shard in " + dir + ": " + e.getMessage()
                    + " (move the folder aside to start the shard again from its genesis)");
        }
    }

    /** Opens a board for one-off use (report, hardware). */
    public static Board board(BoardSelection selection, Path dataDir, long seed, Clock clock) {
        return Boards.open(BoardConfig.defaults(dataDir)
                .withSelection(selection)
                .withSeed(seed)
                .withClock(clock));
    }

    /** Reports that do not claim emulation, whatever made the measurements (benchmarks, tests). */
    public static ReportFactory reportFactory(String fleet, byte[] configHash, Clock clock) {
        return new ReportFactory(fleet, EPOCH_LENGTH, Version.current(), configHash, clock);
    }

    /** Reports of {@code board}: claim {@code emulated} when it is the emulated board. */
    public static ReportFactory reportFactory(String fleet, byte[] configHash, Clock clock, BoardInfo board) {
        return new ReportFactory(
                fleet,
                EPOCH_LENGTH,
                Version.current(),
                configHash,
                clock,
                board.kind().equals("emulated"));
    }

    /** SHA-256 over the effective settings, one per line: what the report's config hash claims. */
    public static byte[] configHash(String... settings) {
        StringBuilder lines = new StringBuilder();
        for (String s : settings) {
            lines.append(s).append('\n');
        }
        return Sha256.of(lines.toString().getBytes(StandardCharsets.UTF_8));
    }

    public static String requireFleet(String fleet) {
        try {
            return Topics.requireFleet(fleet);
        } catch (IllegalArgumentException e) {
            throw new Failure(e.getMessage());
        }
    }

    private static void prepareDataDir(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new Failure("cannot create data dir " + dir + ": " + e.getMessage()
                    + " (create it and give the service user write access)");
        }
        if (!Files.isWritable(dir)) {
            throw new Failure("data dir " + dir + " is not writable: give the service user write access");
        }
    }

    // ------------------------------------------------------------------ fleet commands (issue 14)

    /**
     * Starts the board's fleet-command service on {@code node}'s link: subscribes to its command
     * topics (call before {@link AgentNode#start()}) and runs the handlers of
     * {@link #commandHandlers}. {@code restart} ends the process so that systemd starts it again
     * (the CLI maps it to an exit code; tests record it).
     */
    public static dev.prospector.agent.fleet.CommandService commands(
            AgentNode node,
            dev.prospector.agent.fleet.FleetSettings fleet,
            Path dataDir,
            Clock clock,
            java.util.function.Consumer<String> restart) {
        return commands(node, fleet, dataDir, clock, restart, List.of());
    }

    /**
     * {@link #commands(AgentNode, dev.prospector.agent.fleet.FleetSettings, Path, Clock,
     * java.util.function.Consumer)} with {@code more} handlers beside the built-in ones: the CLI's
     * {@code set-config} and {@code update} ({@code dev.prospector.agent.update}), which need what
     * only the command line knows (the configuration schema, how to restart).
     */
    public static dev.prospector.agent.fleet.CommandService commands(
            AgentNode node,
            dev.prospector.agent.fleet.FleetSettings fleet,
            Path dataDir,
            Clock clock,
            java.util.function.Consumer<String> restart,
            List<dev.prospector.agent.fleet.CommandHandler> more) {
        dev.prospector.agent.fleet.TrustedOperators operators;
        try {
            operators = dev.prospector.agent.fleet.TrustedOperators.load(fleet.operatorKeys());
        } catch (KeyCustodyException | IllegalArgumentException e) {
            throw new Failure("--operator-key: " + e.getMessage());
        }
        var after = new dev.prospector.agent.fleet.CommandService.AfterAnswer();
        var service = new dev.prospector.agent.fleet.CommandService(
                node.fleet(),
                node.keys(),
                fleet.groups(),
                operators,
                java.util.stream.Stream.concat(
                                commandHandlers(node, dataDir, clock, after, restart).stream(), more.stream())
                        .toList(),
                clock,
                fleet.skew(),
                dataDir,
                commandChannel(node),
                after,
                () -> commandStatus(node),
                null);
        service.start(node.scheduler());
        return service;
    }

    /**
     * The commands a board runs: the built-in ones ({@code ping}, {@code status}, {@code report-now},
     * {@code identify}, {@code restart}, {@code rotate-key}). Add a handler here to give every
     * board another command.
     */
    public static List<dev.prospector.agent.fleet.CommandHandler> commandHandlers(
            AgentNode node,
            Path dataDir,
            Clock clock,
            dev.prospector.agent.fleet.CommandService.AfterAnswer after,
            java.util.function.Consumer<String> restart) {
        List<dev.prospector.agent.fleet.CommandHandler> handlers = new ArrayList<>(
                dev.prospector.agent.fleet.BuiltinHandlers.all(boardFor(node, dataDir, clock, restart), after, clock));
        return handlers;
    }

    private static dev.prospector.agent.fleet.BuiltinHandlers.Board boardFor(
            AgentNode node, Path dataDir, Clock clock, java.util.function.Consumer<String> restart) {
        var rotated = new java.util.concurrent.atomic.AtomicBoolean();
        return new dev.prospector.agent.fleet.BuiltinHandlers.Board() {
            @Override
            public java.util.Map<String, Object> status() {
                return commandStatus(node);
            }

            @Override
            public void reportNow() {
                node.reportSoon();
            }

            @Override
            public String identify(Duration duration) {
                var led = node.boardIo().flatMap(BoardIo::led);
                if (led.isPresent()) {
                    led.get().showFor(dev.prospector.hardware.io.LedPattern.IDENTIFY, duration);
                    org.tinylog.Logger.info("identify: blinking the status LED for {} s", duration.toSeconds());
                    return "led";
                }
                org.tinylog.Logger.info(
                        "identify: asked to blink for {} s; this board has no status LED (hardware.led-pin)",
                        duration.toSeconds());
                return "no-led";
            }

            @Override
            public void restart(String why) {
                org.tinylog.Logger.info("restarting: {}", why);
                restart.accept(why);
            }

            @Override
            public java.util.Map<String, Object> rotateKey() {
                if (!rotated.compareAndSet(false, true)) {
                    throw new IllegalStateException("a key rotation already waits for the restart");
                }
                try {
                    DeviceKeys next = node.keys().rotate(clock.instant());
                    next.write(dataDir);
                    var last = next.rotations().get(next.rotations().size() - 1);
                    return java.util.Map.of(
                            "new_key", dev.prospector.attest.Hex.encode(next.publicKey()),
                            "rotation", last.number(),
                            "statement", last.bytes());
                } catch (RuntimeException e) {
                    rotated.set(false);
                    throw e;
                }
            }
        };
    }

    /**
     * Whether a change on trial (a pushed configuration, a new version) has proved itself: the
     * broker connection is up and a report of this run was accepted (a trusted verifier's receipt,
     * or the broker's acknowledgement when no verifier key is trusted).
     */
    public static dev.prospector.agent.update.HealthCheck health(AgentNode node) {
        return () -> {
            NodeStats st = node.stats();
            return st.connected() && st.delivered() > 0;
        };
    }

    /** The compact status a board answers to {@code status} and keeps retained for {@code fleet list}. */
    public static java.util.Map<String, Object> commandStatus(AgentNode node) {
        NodeStats st = node.stats();
        var m = new java.util.LinkedHashMap<String, Object>();
        m.put("version", Version.current());
        m.put("connected", st.connected());
        m.put("made", st.made());
        m.put("delivered", st.delivered());
        m.put("rejected", st.rejected());
        m.put("pending", (long) st.pending());
        m.put("lost", st.lost());
        node.lastReceipt().ifPresent(r -> {
            var last = new java.util.LinkedHashMap<String, Object>();
            last.put("ok", r.ok());
            last.put("reason", r.reason().map(Object::toString).orElse(""));
            last.put("detail", r.detail());
            last.put("seq", r.seq().isPresent() ? r.seq().getAsLong() : -1L);
            last.put("at", r.at().toString());
            m.put("last_receipt", last);
        });
        return m;
    }

    private static dev.prospector.agent.fleet.CommandService.Channel commandChannel(AgentNode node) {
        return new dev.prospector.agent.fleet.CommandService.Channel() {
            @Override
            public void route(String topic, dev.prospector.agent.fleet.CommandService.Inbound inbound) {
                node.route(topic, inbound::onMessage);
            }

            @Override
            public java.util.concurrent.CompletableFuture<Void> publish(
                    String topic, byte[] payload, Optional<byte[]> correlationData) {
                return node.publish(topic, payload, false, correlationData);
            }

            @Override
            public java.util.concurrent.CompletableFuture<Void> publishRetained(String topic, byte[] payload) {
                return node.publish(topic, payload, true, Optional.empty());
            }

            @Override
            public void onConnect(Runnable hook) {
                node.onConnect(hook);
            }

            @Override
            public boolean connected() {
                return node.connected();
            }
        };
    }
}
