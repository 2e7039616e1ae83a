package dev.prospector.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A fleet's topics against a real KRaft broker. */
class KafkaTopicsIT {
    @TempDir
    Path dir;

    @Test
    void aReportsTopicStampedByTheBridgesClocksIsSetToTheBrokersOwn() throws Exception {
        String fleet = "oldfleet";
        try (KafkaBroker kafka = KafkaBroker.start(dir.resolve("kafka"));
                Admin admin = Admin.create(KafkaTopics.admin(kafka.bootstrap()))) {
            // As made before 2 December: CreateTime, the timestamp a bridge puts on its record.
            admin.createTopics(List.of(new NewTopic(KafkaTopics.reports(fleet), 2, (short) 1)
                            .configs(Map.of("message.timestamp.type", "CreateTime"))))
                    .all()
                    .get(30, TimeUnit.SECONDS);
            assertEquals("CreateTime", timestampType(admin, KafkaTopics.reports(fleet)));

            assertEquals(2, KafkaTopics.ensure(kafka.bootstrap(), fleet, 2, (short) 1));
            System.out.println("tried: a reports topic made with CreateTime; ensure set it to "
                    + timestampType(admin, KafkaTopics.reports(fleet)));
            assertEquals("LogAppendTime", timestampType(admin, KafkaTopics.reports(fleet)));

            // A bridge whose clock is a day ahead: the record carries the broker's time, not its own.
            long ahead = System.currentTimeMillis() + Duration.ofDays(1).toMillis();
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap());
            p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
            try (var producer = new KafkaProducer<String, byte[]>(p)) {
                producer.send(new ProducerRecord<>(KafkaTopics.reports(fleet), 0, ahead, "dev", new byte[] {1}))
                        .get(30, TimeUnit.SECONDS);
            }
            List<ConsumerRecord<String, byte[]>> read = new java.util.ArrayList<>();
            kafka.readCommitted(KafkaTopics.reports(fleet), 1, read::add);
            assertEquals(1, read.size(), read.toString());
            ConsumerRecord<String, byte[]> r = read.get(0);
            assertEquals(TimestampType.LOG_APPEND_TIME, r.timestampType(), String.valueOf(r));
            System.out.println("refused: the bridge's timestamp " + ahead + "; kept the broker's " + r.timestamp());
            assertTrue(r.timestamp() < ahead - Duration.ofHours(12).toMillis(), String.valueOf(r));
        }
    }

    private static String timestampType(Admin admin, String topic) throws Exception {
        var resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        return admin.describeConfigs(Set.of(resource))
                .all()
                .get(30, TimeUnit.SECONDS)
                .get(resource)
                .get("message.timestamp.type")
                .value();
    }
}
