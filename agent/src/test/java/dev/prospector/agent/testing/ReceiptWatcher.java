package dev.prospector.agent.testing;

import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.TlsSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.Receipt;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/** Subscribes to a fleet's receipts (attest's CBOR {@link Receipt}), as a device owner would, and keeps them. */
public final class ReceiptWatcher implements AutoCloseable {
    private final MqttLink link;
    private final List<Receipt> receipts = new CopyOnWriteArrayList<>();

    public ReceiptWatcher(String brokerUrl, String fleet) {
        this(brokerUrl, fleet, Optional.empty());
    }

    public ReceiptWatcher(String brokerUrl, String fleet, Optional<TlsSettings> tls) {
        MqttSettings settings = MqttSettings.of(BrokerUrl.parse(brokerUrl), "receipt-watcher-" + System.nanoTime())
                .withSessionExpiry(Duration.ZERO);
        this.link = new MqttLink(tls.map(settings::withTls).orElse(settings), Optional.empty(),
                (topic, payload) -> {
                    try {
                        receipts.add(Receipt.decode(payload));
                    } catch (MalformedReportException e) {
                        throw new AssertionError("a receipt that does not decode: " + e.getMessage());
                    }
                });
        link.subscribe(Topics.allReceipts(fleet), 1);
        link.connect();
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
