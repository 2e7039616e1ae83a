package dev.prospector.agent.cli;

import dev.prospector.agent.common.Failure;
import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.systemd.SystemdNotifier;
import dev.prospector.hardware.BoardConfig;
import dev.prospector.hardware.BoardSelection;
import dev.prospector.hardware.Faults;
import dev.prospector.hardware.HardwareSettings;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.tinylog.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "run",
        mixinStandardHelpOptions = true,
        description = {
            "Run the agent: measure, sign and send a report every interval.",
            "Settings come from the config file (--config, $PROSPECTOR_CONFIG or /etc/prospector/prospector.conf);"
                    + " flags override it. The device key is created in the data dir on first start.",
            "Reports wait in the data dir's outbox while the broker is away."
        })
public final class RunCommand implements Callable<Integer> {
    /** Exit code after a factory reset: EX_TEMPFAIL, so that systemd starts the agent again. */
    static final int EXIT_RESTART = 75;
    /** Shortest report interval and receipt timeout: the floor {@code AgentWiring.RunSettings} enforces. */
    public static final Duration MIN_INTERVAL = Duration.ofMillis(100);

    @Mixin
    FleetOptions connection;

    @Option(
            names = "--data-dir",
            paramLabel = "DIR",
            defaultValue = "/var/lib/prospector",
            description = "Key, chain state and outbox (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @picocli.CommandLine.ParentCommand
    ProspectorCommand parent;

    @Option(
            names = "--board",
            converter = BoardOption.class,
            description =
                    "auto or linux (this machine's /proc and /sys), or emulated (default: hardware.board, else auto).")
    BoardSelection board;

    @Option(
            names = "--interval",
            defaultValue = "30s",
            converter = DurationConverter.class,
            description = "Time between reports, e.g. 2s, 30s, 5m (default: ${DEFAULT-VALUE}).")
    Duration interval;

    @Option(
            names = "--outbox-size",
            defaultValue = "8M",
            converter = SizeConverter.class,
            description =
                    "Most bytes of unsent reports kept on disk; beyond it the oldest are dropped and declared (default: ${DEFAULT-VALUE}).")
    long outboxSize;

    @Mixin
    BrokerSecurityOptions security;

    @Mixin
    DashboardOptions dashboard;

    @Option(
            names = "--seed",
            description = "Emulated board only: seed of its values (default: hardware.emulated.seed, else 1).")
    Long seed;

    @Option(
            names = "--ledger",
            paramLabel = "FILE",
            description =
                    "Keep and validate this board's ledger shard, starting from the genesis of FILE (from `prospector ledger gen`).")
    Path ledger;

    @Option(
            names = "--faults",
            paramLabel = "LIST",
            description = "Emulated board only: faults on at start, comma-separated (e.g. link-down,disk-full).")
    String faults;

    @Option(
            names = "--verifier-key",
            paramLabel = "FILE",
            split = ",",
            description = "Public key (PEM) of a verifier whose signed receipts this board obeys: the verifier's"
                    + " receipt-key/device.pub. Repeatable (or comma-separated in the config file). A report leaves the"
                    + " outbox only when such a receipt names it; without any, the broker's acknowledgement counts.")
    List<Path> verifierKeys = new ArrayList<>();

    @Option(
            names = "--receipt-timeout",
            defaultValue = "30s",
            converter = DurationConverter.class,
            description =
                    "How long to wait for a report's receipt before sending it again; doubles per attempt, up to 10m (default: ${DEFAULT-VALUE}).")
    Duration receiptTimeout;

    @Option(
            names = "--operator-key",
            paramLabel = "FILE[:ROLE]",
            split = ",",
            description = "Public key (operator.pub from `prospector fleet keygen`) of an operator whose signed fleet"
                    + " commands this board obeys, with its role: viewer (status), operator (commands) or admin (config,"
                    + " keys, updates); operator when omitted. Repeatable (comma-separated in the config file)."
                    + " Without any, every command is refused.")
    List<String> operatorKeys = new ArrayList<>();

    @Option(
            names = "--in-group",
            paramLabel = "NAME",
            split = ",",
            description = "A group this board belongs to: it also obeys commands sent to the group"
                    + " (prospector fleet send with that group). Repeatable.")
    List<String> groups = new ArrayList<>();

    @Option(
            names = "--command-skew",
            defaultValue = "2m",
            converter = DurationConverter.class,
            description =
                    "How far in the future (by this board's clock) a command's issue time may be (default: ${DEFAULT-VALUE}).")
    Duration commandSkew;

    /** The fleet-command settings these options describe. */
    dev.prospector.agent.fleet.FleetSettings fleetSettings() {
        dev.prospector.agent.fleet.FleetSettings fleet;
        try {
            fleet = new dev.prospector.agent.fleet.FleetSettings(
                    operatorKeys.stream()
                            .map(String::trim)
                            .filter(k -> !k.isEmpty())
                            .map(dev.prospector.agent.fleet.TrustedOperators.Spec::parse)
                            .toList(),
                    groups.stream().map(String::trim).filter(g -> !g.isEmpty()).toList(),
                    commandSkew);
        } catch (IllegalArgumentException e) {
            throw new Failure("--in-group/--command-skew: " + e.getMessage());
        }
        try {
            dev.prospector.agent.fleet.TrustedOperators.load(fleet.operatorKeys()); // one clear line now
        } catch (dev.prospector.attest.KeyCustodyException | IllegalArgumentException e) {
            throw new Failure("--operator-key: " + e.getMessage());
        }
        return fleet;
    }

    /** Read for the default of {@code --plot-size}: the test kit and the demo set 0 for the agents they start. */
    public static final String PLOT_SIZE_ENVIRONMENT = "PROSPECTOR_PLOT_SIZE";

    @Option(
            names = "--plot-size",
            paramLabel = "SIZE",
            defaultValue = "${env:" + PLOT_SIZE_ENVIRONMENT + ":-1G}",
            converter = SizeConverter.class,
            description = "Size of the plot this board commits in its data dir for storage proofs, e.g. 1G, 4M;"
                    + " 0: no plot (default: $" + PLOT_SIZE_ENVIRONMENT + ", else 1G; now ${DEFAULT-VALUE}).")
    long plotSize;

    @Option(
            names = "--plot-reserve",
            paramLabel = "SIZE",
            defaultValue = "1G",
            converter = SizeConverter.class,
            description =
                    "Disk space plotting never fills; short of it, plotting stops with a message (default: ${DEFAULT-VALUE}).")
    long plotReserve;

    @Option(
            names = "--plot-rate",
            paramLabel = "MIB_PER_S",
            defaultValue = "0",
            description =
                    "Most MiB a second plotting writes, so the board stays responsive; 0: unlimited (default: ${DEFAULT-VALUE}).")
    double plotRate;

    @Option(
            names = "--measure-endpoint",
            paramLabel = "URL",
            split = ",",
            description =
                    "Base URL (http://HOST:PORT) of a measurement endpoint for the bandwidth tests a verifier asks"
                            + " for. Repeatable (or comma-separated in the config file).")
    List<java.net.URI> measureEndpoints = new ArrayList<>();

    @Option(
            names = "--measure-bytes",
            paramLabel = "SIZE",
            defaultValue = "8M",
            converter = SizeConverter.class,
            description = "Bytes each way per endpoint in a bandwidth test, 1K to 64M (default: ${DEFAULT-VALUE}).")
    long measureBytes;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** The proof-of-service settings these options describe. */
    AgentWiring.ProofSettings proofs() {
        if (!(plotRate >= 0) || Double.isInfinite(plotRate)) {
            throw new Failure("--plot-rate " + plotRate + " is not a rate: give MiB a second, 0 for unlimited");
        }
        return new AgentWiring.ProofSettings(
                plotSize, plotReserve, Math.round(plotRate * (1 << 20)), measureEndpoints, measureBytes);
    }

    /** The settings these options describe; the same on start and on reload. */
    AgentWiring.RunSettings settings() {
        String fleet = connection.fleet();
        DurationConverter.requireAtLeast("--interval", interval, MIN_INTERVAL);
        DurationConverter.requireAtLeast("--receipt-timeout", receiptTimeout, MIN_INTERVAL);
        HardwareSettings hardware;
        try {
            hardware = HardwareSettings.parse(
                    parent == null ? Map.of() : parent.hardwareSettings(), dataDir, Clock.systemUTC());
        } catch (IllegalArgumentException e) {
            throw new Failure("config file: " + e.getMessage());
        }
        BoardConfig boardConfig = hardware.board();
        if (board != null) {
            boardConfig = boardConfig.withSelection(board);
        }
        if (seed != null) {
            boardConfig = boardConfig.withSeed(seed);
        }
        if (faults != null) {
            try {
                boardConfig = boardConfig.withFaults(faults.isBlank() ? Set.of() : Faults.parse(faults));
            } catch (IllegalArgumentException e) {
                throw new Failure("--faults: " + e.getMessage());
            }
        }
        return new AgentWiring.RunSettings(
                connection.broker(),
                fleet,
                dataDir,
                boardConfig,
                hardware.io(),
                interval,
                outboxSize,
                Optional.ofNullable(ledger),
                verifierKeys,
                receiptTimeout,
                proofs());
    }

    @Override
    public Integer call() throws InterruptedException {
        AgentWiring.RunSettings settings = settings();
        dev.prospector.agent.dashboard.DashboardSettings dashboardSettings = dashboard.settings();
        if (dashboardSettings.enabled()) {
            dashboardSettings.address(); // a LAN address without a password is refused before anything starts
        }
        dev.prospector.agent.fleet.FleetSettings fleet = fleetSettings(); // checked before the node starts
        runningFleet = fleet;
        DeviceKeyFile.requirePemIfPresent(settings.dataDir());
        // After a factory reset by the button the process ends with EX_TEMPFAIL (75), which the unit
        // restarts (Restart=on-failure does not restart exit 0): it comes back on a clean chain.
        AgentNode node = AgentWiring.agent(
                settings,
                Clock.systemUTC(),
                security::apply,
                () -> new Thread(() -> System.exit(EXIT_RESTART), "factory-reset-exit").start());
        Optional<dev.prospector.agent.dashboard.DashboardServer> dashboardServer =
                dashboard(node, dashboardSettings, settings);
        SystemdNotifier systemd = SystemdNotifier.fromEnvironment();
        java.util.concurrent.ScheduledExecutorService watchdogTimer =
                java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "systemd-watchdog");
                    t.setDaemon(true);
                    return t;
                });
        CountDownLatch stopped = new CountDownLatch(1);
        // The exit code once stopped: 0, or EXIT_RESTART when a fleet command asked for a restart.
        // Set before the stop, since the stop wakes the main thread, whose return ends the process.
        java.util.concurrent.atomic.AtomicInteger exitCode = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean stopping = new java.util.concurrent.atomic.AtomicBoolean();
        Runnable stop = () -> {
            if (!stopping.compareAndSet(false, true)) {
                return;
            }
            Logger.info("stopping: {}", node.stats());
            dashboardServer.ifPresent(dev.prospector.agent.dashboard.DashboardServer::close);
            watchdogTimer.shutdownNow();
            systemd.stopping();
            node.close();
            stopped.countDown();
        };
        Runtime.getRuntime().addShutdownHook(new Thread(stop, "shutdown"));
        String[] args = spec == null
                ? new String[0]
                : spec.commandLine().getParseResult() == null
                        ? new String[0]
                        : spec.root()
                                .commandLine()
                                .getParseResult()
                                .originalArgs()
                                .toArray(String[]::new);
        Signals.onTerminate(() -> {
            // SIGTERM (systemctl stop): flush, disconnect cleanly, exit 0 — a stop is not a failure.
            stop.run();
            Signals.exit(0);
        });
        Signals.onHangUp(() -> reload(args, settings, node));
        // Fleet commands (issue 14): `restart` and `rotate-key` end the process with EX_TEMPFAIL,
        // which systemd restarts, after the command's answer is out.
        // Configuration pushes and updates (set-config, update; docs/OPERATIONS.md): applied by the
        // same restart (exit 75), kept only once the agent is connected with a report accepted.
        var changes = new dev.prospector.agent.update.Changes(
                dataDir,
                Optional.ofNullable(System.getenv(dev.prospector.agent.update.VersionSlots.SLOT_ENVIRONMENT))
                        .filter(v -> !v.isBlank()),
                Clock.systemUTC(),
                () -> restartForChange(stop, exitCode));
        var commands = AgentWiring.commands(
                node,
                fleet,
                dataDir,
                Clock.systemUTC(),
                why -> new Thread(
                                () -> {
                                    exitCode.set(EXIT_RESTART);
                                    stop.run();
                                    System.exit(EXIT_RESTART);
                                },
                                "fleet-restart")
                        .start(),
                List.of(
                        new dev.prospector.agent.update.SetConfigHandler(changes, new PushedConfigValidator(args)),
                        new dev.prospector.agent.update.UpdateHandler(
                                changes,
                                new dev.prospector.agent.update.ArtifactFetcher(
                                        dev.prospector.agent.update.ArtifactFetcher.DEFAULT_TIMEOUT))));
        changes.resume(commands.sink(), AgentWiring.health(node), watchdogTimer);
        Logger.info(
                "agent {} reporting to {} as fleet {} every {} s (board {}, data {})",
                node.device(),
                settings.broker(),
                settings.fleet(),
                interval.toMillis() / 1000.0,
                settings.board().selection().name().toLowerCase(java.util.Locale.ROOT),
                dataDir);
        node.start();
        // systemd (Type=notify): ready once reporting has started (connected or buffering in the
        // outbox), and the watchdog fed only while the node makes progress, so a hung agent is restarted.
        systemd.ready(
                "reporting every " + interval.toSeconds() + " s to " + settings.broker() + " as " + node.device());
        systemd.startWatchdog(watchdogTimer, node::makingProgress);
        stopped.await();
        return exitCode.get();
    }

    /** Longest wait for a clean stop before a change's restart goes ahead anyway. */
    static final Duration STOP_BEFORE_RESTART = Duration.ofSeconds(20);

    /**
     * Ends the process with {@link #EXIT_RESTART} so that systemd starts it again on a changed
     * configuration or version: a clean stop first, but never waiting for it (nor for the JVM's
     * shutdown) for ever, since a change that is never applied cannot be rolled back either; the
     * outbox survives an unclean end.
     */
    static void restartForChange(Runnable stop, java.util.concurrent.atomic.AtomicInteger exitCode) {
        exitCode.set(EXIT_RESTART);
        Thread stopper = new Thread(stop, "stop-for-change");
        stopper.setDaemon(true);
        stopper.start();
        try {
            stopper.join(STOP_BEFORE_RESTART.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (stopper.isAlive()) {
            Logger.error("the agent did not stop within {} s; restarting anyway", STOP_BEFORE_RESTART.toSeconds());
        }
        Thread halt = new Thread(
                () -> {
                    try {
                        Thread.sleep(STOP_BEFORE_RESTART.toMillis());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    Runtime.getRuntime().halt(EXIT_RESTART);
                },
                "halt-for-change");
        halt.setDaemon(true);
        halt.start();
        System.exit(EXIT_RESTART);
    }

    /**
     * Starts the dashboard; a port in use costs the page, never the reports (a warning), a refused
     * address stops the agent before it starts.
     */
    private static Optional<dev.prospector.agent.dashboard.DashboardServer> dashboard(
            AgentNode node, dev.prospector.agent.dashboard.DashboardSettings d, AgentWiring.RunSettings settings) {
        try {
            return dev.prospector.agent.dashboard.DashboardServer.start(
                    node,
                    d,
                    Clock.systemUTC(),
                    Optional.of(
                            settings.dataDir().resolve(dev.prospector.agent.dashboard.DashboardSettings.TOKEN_FILE)));
        } catch (Failure e) {
            if (e.kind() != Failure.Kind.UNAVAILABLE) {
                node.close();
                throw e;
            }
            Logger.warn("dashboard not started: {}", e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * SIGHUP: reads the command line and the config file again and applies what can change while the
     * agent runs (trusted verifier keys, receipt timeout, report interval); every other change is
     * named in the log as needing a restart. A config that does not parse changes nothing.
     */
    /** The fleet-command settings the agent started with: a reload names a change as needing a restart. */
    private static volatile dev.prospector.agent.fleet.FleetSettings runningFleet;

    static void reload(String[] args, AgentWiring.RunSettings current, AgentNode node) {
        AgentWiring.RunSettings next;
        dev.prospector.agent.fleet.FleetSettings nextFleet = null;
        try {
            var parsed = ProspectorCommand.parseAgain(args);
            if (!(parsed.subcommand() != null
                    && parsed.subcommand().commandSpec().userObject() instanceof RunCommand fresh)) {
                Logger.warn("reload: the command line is not `run`; nothing changed");
                return;
            }
            next = fresh.settings();
            nextFleet = fresh.fleetSettings();
        } catch (Failure | IllegalArgumentException e) {
            Logger.error("reload refused, nothing changed: {}", e.getMessage());
            return;
        }
        List<String> restart = new ArrayList<>();
        if (!next.broker().equals(current.broker())) {
            restart.add("broker");
        }
        if (!next.fleet().equals(current.fleet())) {
            restart.add("fleet");
        }
        if (!next.dataDir().equals(current.dataDir())) {
            restart.add("data-dir");
        }
        if (!next.board().equals(current.board()) || !next.io().equals(current.io())) {
            restart.add("board and hardware.*");
        }
        if (next.outboxBytes() != current.outboxBytes()) {
            restart.add("outbox-size");
        }
        if (!next.ledger().equals(current.ledger())) {
            restart.add("ledger");
        }
        if (!next.proofs().equals(current.proofs())) {
            restart.add("plot-* and measure-*");
        }
        if (runningFleet != null && !runningFleet.equals(nextFleet)) {
            restart.add("operator-key, in-group and command-skew");
        }
        try {
            node.reconfigure(next);
        } catch (Failure e) {
            Logger.error("reload refused, nothing changed: {}", e.getMessage());
            return;
        }
        Logger.info(
                "reloaded the configuration: {} trusted verifier key(s), receipt timeout {}, interval {}",
                next.verifierKeys().size(),
                DurationConverter.format(next.receiptTimeout()),
                DurationConverter.format(next.interval()));
        if (!restart.isEmpty()) {
            Logger.warn(
                    "changed setting(s) {} take effect only after a restart (systemctl restart prospector); kept the running values",
                    restart);
        }
    }
}
