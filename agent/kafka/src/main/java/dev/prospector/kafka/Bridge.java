package dev.prospector.kafka;

import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.agent.verifier.AckOrder;
import dev.prospector.agent.verifier.VerifierService;
import dev.prospector.attest.DeviceId;
import java.time.Duration;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.tinylog.Logger;

/**
 * {@code prospector bridge}: moves a fleet's reports from MQTT into Kafka. Bridges share the
 * fleet's reports through an MQTT 5 shared subscription ({@code $share/<group>/prospector/v1/<fleet>/+/report});
 * each report goes to the reports topic keyed by its device id, on the device's partition
 * ({@link KafkaTopics#partition}), through an idempotent producer with {@code acks=all}. The MQTT
 * message is acknowledged only once Kafka has the record (its send callback), in arrival order
 * ({@link AckOrder}), so a bridge killed at any point loses nothing: the broker delivers what it did
 * not acknowledge again, and what was sent twice is a duplicate that the verifier drops by (device,
 * seq).
 *
 * <p>A message whose topic names no device is acknowledged and dropped (counted); one that Kafka
 * refuses (after the producer's own retries, {@code delivery.timeout.ms}) is left unacknowledged, so
 * the broker sends it again when the bridge reconnects.
 */
public final class Bridge implements AutoCloseable {
    private final String fleet;
    private final int partitions;
    private final KafkaProducer<String, byte[]> producer;
    private final MqttLink link;
    private final AckOrder acks = new AckOrder();
    private final LongAdder sent = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final AtomicLong dropped = new AtomicLong();

    /**
     * @param group the MQTT shared-subscription group of the bridges
     * @param mqtt the bridge's MQTT connection (give it a session expiry: the broker keeps what is
     *     unacknowledged while the bridge is away)
     */
    public Bridge(String fleet, String group, MqttSettings mqtt, String bootstrap, int partitions) {
        this.fleet = fleet;
        this.partitions = partitions;
        this.producer = new KafkaProducer<>(producerProperties(bootstrap, mqtt.clientId()));
        this.link = new MqttLink(
                mqtt.withMaxPacketBytes(VerifierService.MAX_PACKET_BYTES),
                Optional.empty(),
                (MqttLink.AcknowledgingListener) this::onMessage);
        link.subscribe(Topics.shared(group, Topics.allReports(fleet)), 1);
    }

    /** An idempotent producer, acks from every in-sync replica, retrying within two minutes. */
    static Properties producerProperties(String bootstrap, String clientId) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "prospector-bridge-" + clientId);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "2");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "120000");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        return p;
    }

    /** Connects to the broker now; fails with one line when it cannot. */
    public void connect() {
        link.connect();
    }

    /** Connects in the background, retrying with backoff until the broker answers. */
    public void start() {
        link.start();
    }

    /** Reports Kafka has taken. */
    public long sent() {
        return sent.sum();
    }

    /** Reports Kafka refused (left unacknowledged at the broker). */
    public long failed() {
        return failed.sum();
    }

    /** Messages dropped because their topic names no device of the fleet. */
    public long dropped() {
        return dropped.get();
    }

    void onMessage(String topic, byte[] payload, Runnable ack) {
        AckOrder.Slot slot = acks.enter(ack);
        try {
            Optional<String> device = Topics.deviceOfReport(fleet, topic);
            if (device.isEmpty() || !DeviceId.isValid(device.get())) {
                long n = dropped.incrementAndGet();
                if (n == 1 || Long.toString(n).matches("10*")) {
                    Logger.warn("dropped {} message(s) on topics that name no device of fleet {}", n, fleet);
                }
                slot.ack();
                return;
            }
            String d = device.get();
            producer.send(
                    new ProducerRecord<>(KafkaTopics.reports(fleet), KafkaTopics.partition(d, partitions), d, payload),
                    (metadata, failure) -> {
                        if (failure == null) {
                            sent.increment();
                            slot.ack();
                        } else {
                            failed.increment();
                            Logger.warn(
                                    "Kafka did not take a report of {}: {}; left for the broker to send again",
                                    d,
                                    failure.getMessage());
                            slot.release();
                        }
                    });
        } catch (RuntimeException e) {
            failed.increment();
            Logger.warn("cannot hand a report to Kafka: {}; left for the broker to send again", e.getMessage());
            slot.release();
        }
    }

    /** Sends what the producer holds (so its MQTT messages are acknowledged), then disconnects. */
    @Override
    public void close() {
        try {
            producer.flush();
        } catch (RuntimeException e) {
            Logger.debug("flushing the producer: {}", e.toString());
        }
        link.close();
        producer.close(Duration.ofSeconds(5));
    }
}
