package dev.prospector.agent.testing;

import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.verifier.VerifierService;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.DeviceKeys;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

/** A lone verifier and an emulated board on one broker, in this process, as the node tests use them. */
public final class LocalStack {
    private LocalStack() {}

    /** A verifier of {@code fleet}, with a clean session and a fresh receipt key; call {@code connect()}. */
    public static VerifierService verifier(BrokerUrl url, String fleet, Appraiser appraiser, String clientId) {
        return verifier(url, fleet, appraiser, clientId, DeviceKeys.generate());
    }

    /** As {@link #verifier(BrokerUrl, String, Appraiser, String)}, signing receipts with {@code receiptKey}. */
    public static VerifierService verifier(
            BrokerUrl url, String fleet, Appraiser appraiser, String clientId, DeviceKeys receiptKey) {
        return new VerifierService(
                fleet,
                appraiser,
                receiptKey,
                Optional.empty(),
                VerifierService.links(MqttSettings.of(url, clientId).withSessionExpiry(Duration.ZERO)));
    }

    /** An agent on an emulated board (seed 1) in {@code dataDir}, reporting every {@code interval}; call {@code start()}. */
    public static AgentNode emulatedBoard(BrokerUrl url, String fleet, Path dataDir, Duration interval, Clock clock) {
        return AgentWiring.agent(AgentWiring.RunSettings.emulated(url, fleet, dataDir, interval), clock);
    }

    /**
     * An agent on an emulated board that trusts {@code verifier}'s receipt key (written as a PEM
     * beside its data dir): reports leave its outbox on the verifier's signed receipts, and it
     * answers their challenges.
     */
    public static AgentNode emulatedBoard(
            BrokerUrl url, String fleet, Path dataDir, Duration interval, Clock clock, VerifierService verifier) {
        Path pem = dataDir.resolveSibling(dataDir.getFileName() + "-verifier.pub");
        writePublicKeyPem(pem, verifier.receiptPublicKey());
        return AgentWiring.agent(
                AgentWiring.RunSettings.emulated(url, fleet, dataDir, interval)
                        .withVerifierKeys(java.util.List.of(pem)),
                clock);
    }

    /** Writes a raw Ed25519 public key as a SubjectPublicKeyInfo PEM (RFC 8410: a fixed 12-byte prefix, then the key). */
    public static void writePublicKeyPem(Path file, byte[] rawKey) {
        byte[] prefix = java.util.HexFormat.of().parseHex("302a300506032b6570032100");
        byte[] der = java.util.Arrays.copyOf(prefix, prefix.length + rawKey.length);
        System.arraycopy(rawKey, 0, der, prefix.length, rawKey.length);
        String pem = "-----BEGIN PUBLIC KEY-----\n"
                + java.util.Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
                + "\n-----END PUBLIC KEY-----\n";
        try {
            java.nio.file.Files.createDirectories(file.toAbsolutePath().getParent());
            java.nio.file.Files.writeString(file, pem);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
