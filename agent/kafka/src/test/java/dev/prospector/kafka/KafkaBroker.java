package dev.prospector.kafka;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * A real Apache Kafka broker in KRaft mode (one process that is broker and controller), started
 * by the test in a child JVM from Kafka's own server artifacts (kafka_2.13, kafka-server, on the
 * test class path) on free loopback ports: {@code kafka.tools.StorageTool format}, then
 * {@code kafka.Kafka}. Its log is {@code dir/kafka.out}. Nothing is skipped: a broker that does
 * not come up fails the test.
 */
public final class KafkaBroker implements AutoCloseable {
    private static final Duration START_LIMIT = Duration.ofSeconds(90);

    private final Path dir;
    private final int port;
    private final Process process;

    private KafkaBroker(Path dir, int port, Process process) {
        this.dir = dir;
        this.port = port;
        this.process = process;
    }

    /** Formats a log dir under {@code dir} and starts the broker; returns once it answers. */
    public static KafkaBroker start(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        int port = freePort();
        int controller = freePort();
        Path logs = dir.resolve("data");
        Path config = dir.resolve("server.properties");
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "process.roles=broker,controller",
                        "node.id=1",
                        "controller.quorum.voters=1@127.0.0.1:" + controller,
                        "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controller,
                        "advertised.listeners=PLAINTEXT://127.0.0.1:" + port,
                        "controller.listener.names=CONTROLLER",
                        "inter.broker.listener.name=PLAINTEXT",
                        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                        "log.dirs=" + logs.toAbsolutePath(),
                        "num.partitions=1",
                        "auto.create.topics.enable=false",
                        "offsets.topic.replication.factor=1",
                        "offsets.topic.num.partitions=4",
                        "transaction.state.log.replication.factor=1",
                        "transaction.state.log.min.isr=1",
                        "transaction.state.log.num.partitions=4",
                        "share.coordinator.state.topic.replication.factor=1",
                        "share.coordinator.state.topic.min.isr=1",
                        "group.initial.rebalance.delay.ms=0",
                        "log.flush.interval.messages=1",
                        ""));
        String clusterId = Uuid.randomUuid().toString();
        Process format = java(
                dir,
                "format.out",
                "kafka.tools.StorageTool",
                "format",
                "-t",
                clusterId,
                "-c",
                config.toString(),
                "--ignore-formatted");
        if (!format.waitFor(60, TimeUnit.SECONDS) || format.exitValue() != 0) {
            format.destroyForcibly();
            fail("formatting Kafka's log dir failed: " + Files.readString(dir.resolve("format.out")));
        }
        Process broker = java(dir, "kafka.out", "kafka.Kafka", config.toString());
        KafkaBroker b = new KafkaBroker(dir, port, broker);
        b.awaitReady();
        return b;
    }

    private static Process java(Path dir, String out, String main, String... args) throws IOException {
        Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new java.util.ArrayList<>(List.of(
                javaBin.toString(),
                "-Xmx512m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                System.getProperty("java.class.path"),
                main));
        command.addAll(List.of(args));
        return new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve(out).toFile())
                .start();
    }

    private void awaitReady() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START_LIMIT.toNanos();
        Properties p = KafkaTopics.admin(bootstrap());
        p.put("request.timeout.ms", "3000");
        p.put("default.api.timeout.ms", "5000");
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                fail("Kafka exited at start: " + tail());
            }
            try (Admin admin = Admin.create(p)) {
                admin.describeCluster().nodes().get(5, TimeUnit.SECONDS);
                return;
            } catch (Exception e) {
                TimeUnit.MILLISECONDS.sleep(500);
            }
        }
        close();
        fail("Kafka did not answer on " + bootstrap() + " within " + START_LIMIT.toSeconds() + " s: " + tail());
    }

    private String tail() throws IOException {
        String all = Files.readString(dir.resolve("kafka.out"));
        return all.length() > 3000 ? all.substring(all.length() - 3000) : all;
    }

    /** {@code 127.0.0.1:PORT}. */
    public String bootstrap() {
        return "127.0.0.1:" + port;
    }

    /**
     * Hands {@code each} every committed record (read_committed) of {@code topic}'s partitions 0 to
     * {@code partitions - 1}, from their start to their end as it is now; gives up after 20 s.
     */
    public void readCommitted(String topic, int partitions, Consumer<ConsumerRecord<String, byte[]>> each) {
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        try (KafkaConsumer<String, byte[]> reader = new KafkaConsumer<>(c)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                tps.add(new TopicPartition(topic, p));
            }
            reader.assign(tps);
            reader.seekToBeginning(tps);
            Map<TopicPartition, Long> end = reader.endOffsets(tps);
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (tps.stream().anyMatch(tp -> reader.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
                reader.poll(Duration.ofMillis(200)).forEach(each);
            }
        }
    }

    /** Stops the broker (SIGTERM, then SIGKILL after 20 s). */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
