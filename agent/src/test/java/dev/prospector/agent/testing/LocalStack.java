package dev.prospector.agent.testing;

import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.verifier.VerifierService;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.hardware.BoardSelection;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;

/** A lone verifier and an emulated board on one broker, in this process, as the node tests use them. */
public final class LocalStack {
    private LocalStack() {
    }

    /** A verifier of {@code fleet} alone (no group), with a clean session and a fresh receipt key; call {@code connect()}. */
    public static VerifierService verifier(BrokerUrl url, String fleet, Appraiser appraiser, String clientId) {
        return verifier(url, fleet, appraiser, clientId, DeviceKeys.generate());
    }

    /** As {@link #verifier(BrokerUrl, String, Appraiser, String)}, signing receipts with {@code receiptKey}. */
    public static VerifierService verifier(BrokerUrl url, String fleet, Appraiser appraiser, String clientId, DeviceKeys receiptKey) {
        return new VerifierService(fleet, appraiser, receiptKey, Optional.empty(),
                VerifierService.links(MqttSettings.of(url, clientId).withSessionExpiry(Duration.ZERO)));
    }

    /** An agent on an emulated board (seed 1) in {@code dataDir}, reporting every {@code interval}; call {@code start()}. */
    public static AgentNode emulatedBoard(BrokerUrl url, String fleet, Path dataDir, Duration interval, Clock clock) {
        return AgentWiring.agent(new AgentWiring.RunSettings(url, fleet, dataDir, BoardSelection.EMULATED, interval,
                AgentWiring.DEFAULT_OUTBOX_BYTES, 1, Set.of()), clock);
    }
}
