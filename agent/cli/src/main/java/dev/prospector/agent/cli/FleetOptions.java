package dev.prospector.agent.cli;

import dev.prospector.agent.common.Failure;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.transport.BrokerUrl;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Where a daemon connects and which fleet it serves: shared by {@code run} and {@code verifier}. */
public final class FleetOptions {
    @Option(
            names = "--config",
            paramLabel = "FILE",
            description = "Config file (key = value lines; keys are these options' long names).")
    Path config;

    @Option(
            names = "--broker",
            paramLabel = "URL",
            description = "Broker, e.g. tcp://broker.example:1883 or ssl://…:8883.")
    String broker;

    @Option(
            names = "--fleet",
            paramLabel = "NAME",
            description = "Fleet name: lowercase letters, digits, '.', '_' or '-'.")
    String fleet;

    /** The broker, validated; one clear line when missing or malformed. */
    public BrokerUrl broker() {
        if (broker == null) {
            throw new Failure(
                    "no broker given: pass --broker URL (e.g. tcp://127.0.0.1:1883) or set `broker = URL` in the config file");
        }
        return BrokerUrl.parse(broker);
    }

    /** The fleet, validated; one clear line when missing or malformed. */
    public String fleet() {
        if (fleet == null) {
            throw new Failure("no fleet given: pass --fleet NAME or set `fleet = NAME` in the config file");
        }
        return AgentWiring.requireFleet(fleet);
    }
}
