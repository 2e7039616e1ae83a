package dev.prospector.agent.cli;

import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.hardware.BoardConfig;
import dev.prospector.hardware.BoardSelection;
import dev.prospector.hardware.HardwareSettings;
import java.util.Map;
import java.util.Optional;
import dev.prospector.hardware.Faults;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.tinylog.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run the agent: measure, sign and send a report every interval.",
            "Settings come from the config file (--config, $PROSPECTOR_CONFIG or /etc/prospector/prospector.conf);",
            "flags override it. The device key is created in the data dir on first start.",
            "Reports wait in the data dir's outbox while the broker is away."})
public final class RunCommand implements Callable<Integer> {
    @Mixin
    FleetOptions connection;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "/var/lib/prospector",
            description = "Key, chain state and outbox (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @picocli.CommandLine.ParentCommand
    ProspectorCommand parent;

    @Option(names = "--board", converter = BoardOption.class,
            description = "auto (a real ARM board, else emulated), linux or emulated (default: hardware.board, else auto).")
    BoardSelection board;

    @Option(names = "--interval", defaultValue = "30s", converter = DurationConverter.class,
            description = "Time between reports, e.g. 2s, 30s, 5m (default: ${DEFAULT-VALUE}).")
    Duration interval;

    @Option(names = "--outbox-size", defaultValue = "8M", converter = SizeConverter.class,
            description = "Most bytes of unsent reports kept on disk; beyond it the oldest are dropped and declared (default: ${DEFAULT-VALUE}).")
    long outboxSize;

    @Mixin
    BrokerSecurityOptions security;

    @Option(names = "--seed", description = "Emulated board only: seed of its values (default: hardware.emulated.seed, else 1).")
    Long seed;

    @Option(names = "--ledger", paramLabel = "FILE",
            description = "Keep and validate this board's ledger shard, starting from the genesis of FILE (from `prospector ledger gen`).")
    Path ledger;

    @Option(names = "--faults", paramLabel = "LIST",
            description = "Emulated board only: faults on at start, comma-separated (e.g. link-down,disk-full).")
    String faults;

    @Override
    public Integer call() throws InterruptedException {
        String fleet = connection.fleet();
        HardwareSettings hardware;
        try {
            hardware = HardwareSettings.parse(parent == null ? Map.of() : parent.hardwareSettings(), dataDir, Clock.systemUTC());
        } catch (IllegalArgumentException e) {
            throw new UserError("config file: " + e.getMessage());
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
                throw new UserError("--faults: " + e.getMessage());
            }
        }
        var settings = new AgentWiring.RunSettings(connection.broker(), fleet, dataDir, boardConfig, hardware.io(),
                interval, outboxSize, Optional.ofNullable(ledger));
        // After a factory reset by the button the process ends; systemd starts it on a clean chain.
        AgentNode node = AgentWiring.agent(settings, Clock.systemUTC(), security::apply,
                () -> new Thread(() -> System.exit(0), "factory-reset-exit").start());
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            Logger.info("stopping: {}", node.stats());
            node.close();
            stopped.countDown();
        }, "shutdown"));
        Logger.info("agent {} reporting to {} as fleet {} every {} s (board {}, data {})", node.device(),
                settings.broker(), fleet, interval.toMillis() / 1000.0, boardConfig.selection().name().toLowerCase(), dataDir);
        node.start();
        stopped.await();
        return 0;
    }
}
