package dev.prospector.agent.testing;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.transport.BrokerUrl;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.TlsSettings;
import dev.prospector.agent.transport.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/** Subscribes to a fleet's receipts, as a device owner would, and keeps them. */
public final class ReceiptWatcher implements AutoCloseable {
    private final MqttLink link;
    private final List<CBORObject> receipts = new CopyOnWriteArrayList<>();

    public ReceiptWatcher(String brokerUrl, String fleet) {
        this(brokerUrl, fleet, Optional.empty());
    }

    public ReceiptWatcher(String brokerUrl, String fleet, Optional<TlsSettings> tls) {
        MqttSettings settings = MqttSettings.of(BrokerUrl.parse(brokerUrl), "receipt-watcher-" + System.nanoTime())
                .withSessionExpiry(Duration.ZERO);
        this.link = new MqttLink(tls.map(settings::withTls).orElse(settings), Optional.empty(),
                (topic, payload) -> receipts.add(CBORObject.FromJSONString(new String(payload, StandardCharsets.UTF_8))));
        link.subscribe(Topics.allReceipts(fleet), 1);
        link.connect();
    }

    public List<CBORObject> receipts() {
        return List.copyOf(receipts);
    }

    public long count(String outcome) {
        return receipts.stream().filter(r -> r.get("outcome").AsString().equals(outcome)).count();
    }

    @Override
    public void close() {
        link.close();
    }
}
