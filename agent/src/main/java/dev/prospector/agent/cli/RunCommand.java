package dev.prospector.agent.cli;

import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.hardware.BoardSelection;
import dev.prospector.hardware.Fault;
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
    @Option(names = "--config", paramLabel = "FILE", description = "Config file (key = value lines; keys are these options' long names).")
    Path config;

    @Option(names = "--broker", paramLabel = "URL", description = "Broker, e.g. tcp://broker.example:1883 or ssl://…:8883.")
    String broker;

    @Option(names = "--fleet", paramLabel = "NAME", description = "Fleet this device belongs to.")
    String fleet;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "/var/lib/prospector",
            description = "Key, chain state and outbox (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--board", defaultValue = "auto", converter = BoardOption.class,
            description = "auto (a real ARM board, else emulated), linux or emulated (default: ${DEFAULT-VALUE}).")
    BoardSelection board;

    @Option(names = "--interval", defaultValue = "30s", converter = DurationConverter.class,
            description = "Time between reports, e.g. 2s, 30s, 5m (default: ${DEFAULT-VALUE}).")
    Duration interval;

    @Option(names = "--outbox-size", defaultValue = "8M", converter = SizeConverter.class,
            description = "Most bytes of unsent reports kept on disk; beyond it the oldest are dropped and declared (default: ${DEFAULT-VALUE}).")
    long outboxSize;

    @Mixin
    BrokerSecurityOptions security;

    @Option(names = "--seed", defaultValue = "1", description = "Emulated board only: seed of its values (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--ledger", paramLabel = "FILE",
            description = "Keep and validate this board's ledger shard, starting from the genesis of FILE (from `prospector ledger gen`).")
    Path ledger;

    @Option(names = "--faults", paramLabel = "LIST", defaultValue = "",
            description = "Emulated board only: faults on at start, comma-separated (e.g. link-down,disk-full).")
    String faults;

    @Override
    public Integer call() throws InterruptedException {
        if (broker == null) {
            throw new UserError("no broker given: pass --broker URL (e.g. tcp://127.0.0.1:1883) or set `broker = URL` in the config file");
        }
        if (fleet == null) {
            throw new UserError("no fleet given: pass --fleet NAME or set `fleet = NAME` in the config file");
        }
        Set<Fault> faultSet;
        try {
            faultSet = faults.isBlank() ? Set.of() : Faults.parse(faults);
        } catch (IllegalArgumentException e) {
            throw new UserError("--faults: " + e.getMessage());
        }
        var settings = new AgentWiring.RunSettings(BrokerUrl.parse(broker), fleet, dataDir, board, interval,
                outboxSize, seed, faultSet, java.util.Optional.ofNullable(ledger));
        AgentNode node = AgentWiring.agent(settings, Clock.systemUTC(), security::apply);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            Logger.info("stopping: {}", node.stats());
            node.close();
            stopped.countDown();
        }, "shutdown"));
        Logger.info("agent {} reporting to {} as fleet {} every {} s (board {}, data {})", node.device(),
                settings.broker(), fleet, interval.toMillis() / 1000.0, board.name().toLowerCase(), dataDir);
        node.start();
        stopped.await();
        return 0;
    }
}
