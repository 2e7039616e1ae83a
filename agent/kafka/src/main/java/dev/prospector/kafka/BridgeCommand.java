package dev.prospector.kafka;

import dev.prospector.agent.cli.BrokerSecurityOptions;
import dev.prospector.agent.cli.DurationConverter;
import dev.prospector.agent.cli.FleetOptions;
import dev.prospector.agent.cli.Signals;
import dev.prospector.agent.common.Failure;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.verifier.VerifierClientId;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.tinylog.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code prospector bridge}: a fleet's reports from MQTT into Kafka (see {@link Bridge}). */
@Command(
        name = "bridge",
        mixinStandardHelpOptions = true,
        description = {
            "Move a fleet's reports from MQTT into Kafka.",
            "Each report goes to a Kafka topic keyed by its device id. Bridges share the reports (MQTT 5 shared subscription); a report is acknowledged to the broker only once Kafka has it."
        })
public final class BridgeCommand implements Callable<Integer> {
    @Mixin
    FleetOptions connection;

    @Mixin
    BrokerSecurityOptions security;

    @Option(
            names = "--kafka",
            required = true,
            paramLabel = "HOST:PORT[,...]",
            description = "Kafka's bootstrap servers.")
    String kafka;

    @Option(
            names = "--group",
            paramLabel = "NAME",
            defaultValue = "bridges",
            description = "The shared-subscription group of the fleet's bridges (default: ${DEFAULT-VALUE}).")
    String group;

    @Option(
            names = "--id",
            paramLabel = "NAME",
            description =
                    "MQTT client id; the broker keeps its session (and what it did not acknowledge) while it is away. Default: a random one.")
    String clientId;

    @Option(
            names = "--session-expiry",
            defaultValue = "1d",
            converter = DurationConverter.class,
            description =
                    "How long the broker keeps this bridge's session while it is away (default: ${DEFAULT-VALUE}).")
    Duration sessionExpiry;

    @Option(
            names = "--kafka-partitions",
            paramLabel = "N",
            defaultValue = "12",
            description = "Partitions of the fleet's topics if this bridge creates them (default: ${DEFAULT-VALUE}).")
    int partitions;

    @Option(
            names = "--kafka-replication",
            paramLabel = "N",
            defaultValue = "3",
            description =
                    "Replicas of the fleet's topics if this bridge creates them; min.insync.replicas is one less (default: ${DEFAULT-VALUE}).")
    short replication;

    @Override
    public Integer call() throws InterruptedException {
        if (!group.matches("[a-z0-9][a-z0-9_-]{0,62}")) {
            throw new Failure("--group '" + group + "' is not valid: use 1-63 lowercase letters, digits, '_' or '-'");
        }
        if (partitions < 1 || partitions > 10_000) {
            throw new Failure("--kafka-partitions " + partitions + " is out of range: use 1-10000");
        }
        if (replication < 1 || replication > 16) {
            throw new Failure("--kafka-replication " + replication + " is out of range: use 1-16");
        }
        String fleet = connection.fleet();
        String id = clientId != null ? clientId : VerifierClientId.random("prospector-bridge-" + fleet);
        int actual = KafkaTopics.ensure(kafka, fleet, partitions, replication);
        MqttSettings mqtt =
                security.apply(MqttSettings.of(connection.broker(), id).withSessionExpiry(sessionExpiry));
        Bridge bridge = new Bridge(fleet, group, mqtt, kafka, actual);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            bridge.close();
                            stopped.countDown();
                        },
                        "shutdown"));
        Signals.onTerminate(() -> Signals.exit(0)); // exit 0, as systemd expects: the hook closes the bridge
        bridge.start();
        Logger.info(
                "bridge {} of group {}: reports of fleet {} from {} to Kafka {} ({} partitions)",
                id,
                group,
                fleet,
                connection.broker(),
                kafka,
                actual);
        stopped.await();
        return 0;
    }
}
