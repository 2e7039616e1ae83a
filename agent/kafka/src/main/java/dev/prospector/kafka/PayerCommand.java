package dev.prospector.kafka;

import dev.prospector.agent.cli.Signals;
import dev.prospector.agent.common.Failure;
import dev.prospector.agent.storage.StateDirLock;
import dev.prospector.agent.transport.Topics;
import dev.prospector.agent.verifier.ProofOfService;
import dev.prospector.agent.verifier.VerifierWiring;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.KeyCustodyException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code prospector payer}: pays the rewards due that a fleet's Kafka verifiers write (see {@link Payer}). */
@Command(
        name = "payer",
        mixinStandardHelpOptions = true,
        description = {
            "Pay the rewards due that a fleet's Kafka verifiers write.",
            "Signs one ledger REWARD transaction per due with the fleet's reward key and writes it to the topic"
                    + " prospector.<fleet>.payments, in nonce order, exactly once. One payer per fleet: a second one"
                    + " started takes over and the first stops."
        })
public final class PayerCommand implements Callable<Integer> {
    @Option(names = "--fleet", required = true, paramLabel = "NAME", description = "The fleet whose rewards are paid.")
    String fleet;

    @Option(
            names = "--kafka",
            required = true,
            paramLabel = "HOST:PORT[,...]",
            description = "Kafka's bootstrap servers.")
    String kafka;

    @Option(
            names = "--state-dir",
            required = true,
            paramLabel = "DIR",
            description = "Holds the reward key (DIR/" + ProofOfService.REWARD_KEY_DIR
                    + "/, made on first start: its public key is the ledger genesis' reward key). Locked while the"
                    + " payer runs; not one a verifier uses.")
    Path stateDir;

    @Option(
            names = "--kafka-replication",
            paramLabel = "N",
            defaultValue = "3",
            description =
                    "Replicas of the payments topic if this payer creates it; min.insync.replicas is one less (default: ${DEFAULT-VALUE}).")
    short replication;

    @Override
    public Integer call() {
        try {
            Topics.requireFleet(fleet);
        } catch (IllegalArgumentException e) {
            throw new Failure(e.getMessage());
        }
        if (replication < 1 || replication > 16) {
            throw new Failure("--kafka-replication " + replication + " is out of range: use 1-16");
        }
        try (StateDirLock lock = VerifierWiring.lock(stateDir)) {
            DeviceKeys key;
            try {
                key = DeviceKeys.loadOrCreate(stateDir.resolve(ProofOfService.REWARD_KEY_DIR));
            } catch (KeyCustodyException e) {
                throw new Failure("reward key: " + e.getMessage());
            }
            KafkaTopics.ensurePayments(kafka, fleet, replication);
            Payer payer = new Payer(fleet, key, kafka);
            Thread hook = new Thread(payer::close, "shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            Signals.onTerminate(() -> Signals.exit(0)); // as systemd expects: the hook stops the payer
            payer.run();
            if (payer.failure().isPresent()) {
                // Taken over or the wrong key: exit 2, which systemd does not restart (RestartPreventExitStatus=2),
                // or two payers would fence each other in turn. Kafka away: restart.
                throw new Failure(
                        "the payer of fleet " + fleet + " stopped: "
                                + payer.failure().get(),
                        payer.failureIsSettled() ? Failure.Kind.BAD_INPUT : Failure.Kind.UNAVAILABLE);
            }
            return 0;
        }
    }
}
