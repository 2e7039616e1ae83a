package dev.prospector.agent.cli;

import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.verifier.VerifierService;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.tinylog.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "verifier", mixinStandardHelpOptions = true,
        description = {"Run the network side's verifier for a fleet.",
            "Appraises every report, logs one line per outcome, and sends each device a receipt."})
public final class VerifierCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", description = "Config file (key = value lines; keys are these options' long names).")
    Path config;

    @Option(names = "--broker", paramLabel = "URL", description = "Broker, e.g. tcp://127.0.0.1:1883.")
    String broker;

    @Option(names = "--fleet", paramLabel = "NAME", description = "Fleet whose reports to appraise.")
    String fleet;

    @Option(names = "--group", paramLabel = "NAME",
            description = "Share the fleet's reports with other verifiers of this group (MQTT 5 shared subscription).")
    String group;

    @Mixin
    BrokerSecurityOptions security;

    @Option(names = "--clock-skew", defaultValue = "5m", converter = DurationConverter.class,
            description = "Largest difference accepted between a report's time and ours (default: ${DEFAULT-VALUE}).")
    Duration clockSkew;

    @Override
    public Integer call() throws InterruptedException {
        if (broker == null) {
            throw new UserError("no broker given: pass --broker URL (e.g. tcp://127.0.0.1:1883) or set `broker = URL` in the config file");
        }
        if (fleet == null) {
            throw new UserError("no fleet given: pass --fleet NAME or set `fleet = NAME` in the config file");
        }
        AgentWiring.requireFleet(fleet);
        BrokerUrl url = BrokerUrl.parse(broker);
        Appraiser appraiser = new Appraiser(AppraiserConfig.defaults().withFleet(fleet).withClockSkewWindow(clockSkew));
        String clientId = "prospector-verifier-" + (group == null ? UUID.randomUUID().toString().substring(0, 8)
                : group + "-" + UUID.randomUUID().toString().substring(0, 8));
        MqttSettings mqtt = security.apply(MqttSettings.of(url, clientId).withSessionExpiry(Duration.ZERO));
        VerifierService service = new VerifierService(fleet, appraiser, Optional.ofNullable(group),
                listener -> new MqttLink(mqtt, Optional.empty(), listener));
        service.connect();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            service.close();
            stopped.countDown();
        }, "shutdown"));
        Logger.info("verifier for fleet {} connected to {}{}", fleet, url, group == null ? "" : " (group " + group + ")");
        stopped.await();
        return 0;
    }
}
