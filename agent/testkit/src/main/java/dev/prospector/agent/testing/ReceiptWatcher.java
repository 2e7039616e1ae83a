package dev.prospector.agent.testing;

import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.TlsSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.ReceiptBatch;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Subscribes to a fleet's receipts (attest's {@link Receipt}, signed by the verifier as a tagged
 * COSE_Sign1), as a device owner would, and keeps them. Given the verifier's public key, it keeps
 * only receipts whose signature verifies with it and counts the others in {@link #forged()}.
 */
public final class ReceiptWatcher implements AutoCloseable {
    private final MqttLink link;
    private final List<Receipt> receipts = new CopyOnWriteArrayList<>();
    private final java.util.concurrent.atomic.AtomicLong forged = new java.util.concurrent.atomic.AtomicLong();

    public ReceiptWatcher(String brokerUrl, String fleet) {
        this(brokerUrl, fleet, Optional.empty());
    }

    public ReceiptWatcher(String brokerUrl, String fleet, Optional<TlsSettings> tls) {
        this(brokerUrl, fleet, tls, Optional.empty());
    }

    /** Keeps only receipts signed by {@code verifierKey} (raw Ed25519 public key). */
    public ReceiptWatcher(String brokerUrl, String fleet, byte[] verifierKey) {
        this(brokerUrl, fleet, Optional.empty(), Optional.of(verifierKey));
    }

    private ReceiptWatcher(String brokerUrl, String fleet, Optional<TlsSettings> tls, Optional<byte[]> verifierKey) {
        MqttSettings settings = MqttSettings.of(BrokerUrl.parse(brokerUrl), "receipt-watcher-" + System.nanoTime())
                .withSessionExpiry(Duration.ZERO);
        this.link = new MqttLink(tls.map(settings::withTls).orElse(settings), Optional.empty(), (topic, payload) -> {
            try {
                if (verifierKey.isPresent()) {
                    receipts.add(Receipt.verify(payload, verifierKey.get()));
                } else {
                    receipts.add(ReceiptBatch.open(payload).decode());
                }
            } catch (MalformedReportException e) {
                if (verifierKey.isPresent()) {
                    forged.incrementAndGet();
                } else {
                    throw new AssertionError("a receipt that does not decode: " + e.getMessage());
                }
            }
        });
        link.subscribe(Topics.allReceipts(fleet), 1);
        link.connect();
    }

    /** With a verifier key: messages on receipt topics that are not receipts signed by it. */
    public long forged() {
        return forged.get();
    }

    public List<Receipt> receipts() {
        return List.copyOf(receipts);
    }

    /** Receipts saying accepted ({@code "accepted"}) or rejected ({@code "rejected"}). */
    public long count(String outcome) {
        boolean ok = outcome.equals("accepted");
        return receipts.stream().filter(r -> r.ok() == ok).count();
    }

    @Override
    public void close() {
        link.close();
    }
}
