package dev.prospector.kafka;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Utils;
import org.tinylog.Logger;

/**
 * The Kafka topics of a fleet, and which partition holds a device.
 *
 * <ul>
 *   <li>{@code prospector.<fleet>.reports}: every report as the bridges took it from MQTT, key the
 *       device id, value the report's bytes. A device's reports are all on one partition. Stamped
 *       by the broker as it appends them ({@code LogAppendTime}): their arrival, for uptime.
 *   <li>{@code prospector.<fleet>.verdicts}: the acceptance topic, one record per report decided
 *       (accepted or rejected; a duplicate of an accepted report writes none), key the device id,
 *       value {@link Verdict}. Written in the same transaction as the consumed offsets: what is here
 *       is what was decided, once.
 *   <li>{@code prospector.<fleet>.chain}: compacted; what a verifier needs to go on with a device's
 *       chain after its partition moved: the last {@code Limits.DUPLICATE_WINDOW} acceptances of
 *       each device (key {@code <device>#<seq mod window>}, value an accepted entry). Same
 *       partition count and same partition per device as the reports, so a verifier given report
 *       partition p reads chain partition p.
 *   <li>{@code prospector.<fleet>.service}: compacted; each device's proof-of-service state (audits
 *       asked and passed, reputation, uptime credited to open epochs, the last epoch closed for it),
 *       key the device id, value its state as the judge keeps it. Partitioned as the reports, and
 *       written in the transaction of the reports that changed it.
 *   <li>{@code prospector.<fleet>.rewards}: the rewards due at each epoch's close, key the device id,
 *       value {@link RewardDue}; one record per device and epoch with a reward. Kept forever
 *       ({@code retention.ms} -1): what a payout reads.
 * </ul>
 */
public final class KafkaTopics {
    /** Partitions of a fleet's topics unless told otherwise: room for 12 verifiers. */
    public static final int DEFAULT_PARTITIONS = 12;

    private KafkaTopics() {}

    public static String reports(String fleet) {
        return "prospector." + fleet + ".reports";
    }

    public static String verdicts(String fleet) {
        return "prospector." + fleet + ".verdicts";
    }

    public static String chain(String fleet) {
        return "prospector." + fleet + ".chain";
    }

    public static String service(String fleet) {
        return "prospector." + fleet + ".service";
    }

    public static String rewards(String fleet) {
        return "prospector." + fleet + ".rewards";
    }

    /** The payments of the fleet's rewards due, in nonce order: one partition ({@link Payer}). */
    public static String payments(String fleet) {
        return "prospector." + fleet + ".payments";
    }

    /** The partition of {@code device} among {@code partitions}: Kafka's own hash of the key (murmur2). */
    public static int partition(String device, int partitions) {
        return Utils.toPositive(Utils.murmur2(device.getBytes(StandardCharsets.UTF_8))) % partitions;
    }

    /**
     * Sets {@code topic}'s {@code message.timestamp.type} to {@code LogAppendTime} when it is not:
     * proofs of service measure uptime by the broker's clock at each report's arrival, and a topic
     * stamped with {@code CreateTime} carries the clock of whichever bridge sent the report (a
     * bridge's clock set ahead would credit uptime not served). Only records appended afterwards are
     * stamped by the broker. A broker that refuses (no ALTER_CONFIGS right) is a failure saying what
     * to run instead.
     */
    static void stampOnAppend(Admin admin, String topic)
            throws ExecutionException, InterruptedException, TimeoutException {
        var resource = new org.apache.kafka.common.config.ConfigResource(
                org.apache.kafka.common.config.ConfigResource.Type.TOPIC, topic);
        var entry = admin.describeConfigs(Set.of(resource))
                .all()
                .get(30, TimeUnit.SECONDS)
                .get(resource)
                .get("message.timestamp.type");
        if (entry != null && "LogAppendTime".equals(entry.value())) {
            return;
        }
        try {
            admin.incrementalAlterConfigs(Map.of(
                            resource,
                            List.of(new org.apache.kafka.clients.admin.AlterConfigOp(
                                    new org.apache.kafka.clients.admin.ConfigEntry(
                                            "message.timestamp.type", "LogAppendTime"),
                                    org.apache.kafka.clients.admin.AlterConfigOp.OpType.SET))))
                    .all()
                    .get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new dev.prospector.agent.common.Failure(
                    "topic " + topic + " is stamped with " + (entry == null ? "the broker's default" : entry.value())
                            + " (the bridges' clocks) and setting it to LogAppendTime was refused ("
                            + e.getCause().getMessage() + "): run kafka-configs.sh --alter --entity-type topics"
                            + " --entity-name " + topic + " --add-config message.timestamp.type=LogAppendTime",
                    dev.prospector.agent.common.Failure.Kind.UNAVAILABLE,
                    e);
        }
        Logger.warn(
                "Kafka topic {} was stamped with {} (the bridges' clocks): set to LogAppendTime, the broker's"
                        + " clock at each report's arrival, which uptime is measured by",
                topic,
                entry == null ? "the broker's default" : entry.value());
    }

    /** Admin client properties for {@code bootstrap}. */
    static Properties admin(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "prospector-admin");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        return p;
    }

    /**
     * Creates the fleet's payments topic if it does not exist: one partition (a payer's nonces in
     * order), kept forever, {@code replication} replicas with {@code min.insync.replicas} one less.
     */
    public static void ensurePayments(String bootstrap, String fleet, short replication) {
        try (Admin admin = Admin.create(admin(bootstrap))) {
            Map<String, String> configs = Map.of(
                    "min.insync.replicas", String.valueOf(Math.max(1, replication - 1)),
                    "unclean.leader.election.enable", "false",
                    "retention.ms", "-1");
            create(admin, new NewTopic(payments(fleet), 1, replication).configs(configs));
            int n = describe(admin, Set.of(payments(fleet)))
                    .get(payments(fleet))
                    .partitions()
                    .size();
            if (n != 1) {
                throw new dev.prospector.agent.common.Failure("topic " + payments(fleet) + " has " + n
                        + " partitions: payments need one (their nonces in order); delete it or make it anew");
            }
        } catch (ExecutionException | TimeoutException e) {
            throw unavailable("the Kafka topic " + payments(fleet), bootstrap, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unavailable("the Kafka topic " + payments(fleet), bootstrap, e);
        }
    }

    /** Creates {@code t} unless it exists, and says so. */
    private static void create(Admin admin, NewTopic t)
            throws ExecutionException, InterruptedException, TimeoutException {
        try {
            admin.createTopics(List.of(t)).all().get(30, TimeUnit.SECONDS);
            Logger.info(
                    "created Kafka topic {} ({} partitions, replication {})",
                    t.name(),
                    t.numPartitions(),
                    t.replicationFactor());
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw e;
            }
        }
    }

    /** The topics' descriptions; a topic just created may not be in the broker's metadata yet: asks again for a while. */
    private static Map<String, org.apache.kafka.clients.admin.TopicDescription> describe(Admin admin, Set<String> names)
            throws ExecutionException, InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                return admin.describeTopics(names).allTopicNames().get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException)
                        || System.nanoTime() > deadline) {
                    throw e;
                }
                TimeUnit.MILLISECONDS.sleep(200);
            }
        }
    }

    /** The one line for topics that could not be set up. */
    private static dev.prospector.agent.common.Failure unavailable(String what, String bootstrap, Exception e) {
        String why = e instanceof InterruptedException
                ? "interrupted"
                : (e.getCause() != null ? e.getCause().getMessage() : e.toString()) + " (is Kafka running there?)";
        return new dev.prospector.agent.common.Failure(
                "cannot set up " + what + " at " + bootstrap + ": " + why,
                dev.prospector.agent.common.Failure.Kind.UNAVAILABLE,
                e);
    }

    /**
     * Creates the fleet's topics that do not exist yet, with {@code partitions} partitions and
     * {@code replication} replicas ({@code min.insync.replicas} one less, at least 1; unclean leader
     * election off). Existing topics are left as they are, but for the reports topic's timestamps:
     * one made with {@code CreateTime} (the bridges' clocks, as before 2 December) is set to
     * {@code LogAppendTime} ({@link #stampOnAppend}). Their partition count is returned.
     */
    public static int ensure(String bootstrap, String fleet, int partitions, short replication) {
        try (Admin admin = Admin.create(admin(bootstrap))) {
            String minIsr = String.valueOf(Math.max(1, replication - 1));
            Map<String, String> safe = Map.of("min.insync.replicas", minIsr, "unclean.leader.election.enable", "false");
            List<NewTopic> topics = new ArrayList<>();
            // The broker's clock stamps a report as it is appended: the arrival time proofs of service
            // measure uptime with, one clock for every bridge and verifier.
            var stamped = new java.util.HashMap<>(safe);
            stamped.put("message.timestamp.type", "LogAppendTime");
            topics.add(new NewTopic(reports(fleet), partitions, replication).configs(stamped));
            topics.add(new NewTopic(verdicts(fleet), partitions, replication).configs(safe));
            var compacted = new java.util.HashMap<>(safe);
            compacted.put("cleanup.policy", "compact");
            // Compacted within the hour (the active segment never is): what a rebuild reads stays small.
            compacted.put("segment.ms", "3600000");
            topics.add(new NewTopic(chain(fleet), partitions, replication).configs(compacted));
            topics.add(new NewTopic(service(fleet), partitions, replication).configs(compacted));
            var forever = new java.util.HashMap<>(safe);
            forever.put("retention.ms", "-1");
            topics.add(new NewTopic(rewards(fleet), partitions, replication).configs(forever));
            for (NewTopic t : topics) {
                create(admin, t);
            }
            var described = describe(admin, Set.of(reports(fleet), chain(fleet), service(fleet)));
            stampOnAppend(admin, reports(fleet));
            int reports = described.get(reports(fleet)).partitions().size();
            for (String state : List.of(chain(fleet), service(fleet))) {
                int n = described.get(state).partitions().size();
                if (reports != n) {
                    throw new IllegalStateException("topic " + reports(fleet) + " has " + reports + " partitions but "
                            + state + " has " + n + ": they must have the same count");
                }
            }
            return reports;
        } catch (ExecutionException | TimeoutException e) {
            throw unavailable("the Kafka topics of fleet " + fleet, bootstrap, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unavailable("the Kafka topics of fleet " + fleet, bootstrap, e);
        }
    }
}
