package dev.prospector.agent.cli;

import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.verifier.VerifierWiring;
import java.io.PrintWriter;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.function.UnaryOperator;

/**
 * The Kafka mode of {@code prospector verifier --kafka}: in agent/kafka, found through
 * {@link ServiceLoader} ({@code META-INF/services/dev.prospector.agent.cli.KafkaMode}) when its jar
 * is on the class path, so that neither this module nor a board's jar carries Kafka's code.
 */
public interface KafkaMode {
    /**
     * What {@code prospector verifier --kafka} was given.
     *
     * @param kafka bootstrap servers, {@code HOST:PORT[,HOST:PORT...]}
     * @param group the consumer group of the fleet's verifiers
     * @param partitions partitions of the fleet's topics when this verifier creates them
     * @param replication replicas of the fleet's topics when this verifier creates them
     */
    record VerifierRequest(
            VerifierWiring.Settings settings,
            UnaryOperator<MqttSettings> security,
            String kafka,
            String group,
            int partitions,
            short replication,
            Optional<PrintWriter> json) {}

    /** Runs a verifier of the group until SIGTERM; the exit code. */
    int verifier(VerifierRequest request) throws InterruptedException;

    /** The Kafka mode on the class path, if any. */
    static Optional<KafkaMode> find() {
        return ServiceLoader.load(KafkaMode.class).findFirst();
    }
}
