package dev.prospector.kafka;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.verifier.RewardIssuer;
import dev.prospector.attest.DeviceKeys;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Kafka mode's payer against a real KRaft broker: every due on the rewards topic is paid once,
 * with nonces that count up without a gap, across a second payer that takes over mid-run (the first
 * one's open transaction aborted, as after a kill) and a restart; records that are not whole dues
 * are refused and paid nothing.
 */
class KafkaPayerIT {
    private static final String FLEET = "payfleet";
    private static final int DEVICES = 20;
    private static final int EPOCHS = 10;

    @TempDir
    Path dir;

    private record Due(String device, byte[] recipient, long epoch, long amount) {
        byte[] encode() {
            return new RewardDue(epoch, device, recipient, amount, 0.9, "verifier-x").encode();
        }
    }

    @Test
    void everyDueIsPaidOnceInNonceOrderAcrossATakeoverAndARestart() throws Exception {
        try (KafkaBroker kafka = KafkaBroker.start(dir.resolve("kafka"))) {
            KafkaTopics.ensure(kafka.bootstrap(), FLEET, 3, (short) 1);
            KafkaTopics.ensurePayments(kafka.bootstrap(), FLEET, (short) 1);
            DeviceKeys rewardKey = DeviceKeys.generate();
            List<DeviceKeys> devices = new ArrayList<>();
            for (int d = 0; d < DEVICES; d++) {
                devices.add(DeviceKeys.generate());
            }
            List<Due> dues = new ArrayList<>();
            for (int e = 1; e <= EPOCHS; e++) {
                for (DeviceKeys d : devices) {
                    dues.add(new Due(d.deviceId().value(), d.publicKey(), e, 1_000L * e + dues.size()));
                }
            }
            DeviceKeys other = DeviceKeys.generate();
            Map<String, byte[]> forged = new HashMap<>();
            forged.put("oversized", new byte[Payer.MAX_RECORD_BYTES + 1]);
            forged.put("not CBOR", new byte[] {(byte) 0xff, 1, 2});
            forged.put(
                    "amount 0",
                    new Due(devices.get(0).deviceId().value(), devices.get(0).publicKey(), 99, 0).encode());
            forged.put(
                    "another device's key as recipient",
                    new Due(devices.get(1).deviceId().value(), other.publicKey(), 99, 5_000).encode());
            forged.put("version 2", versionTwo(devices.get(2)));

            Payer first = new Payer(FLEET, rewardKey, kafka.bootstrap());
            Thread firstRun = new Thread(first::run, "payer-1");
            firstRun.start();
            Payer second = null;
            Thread secondRun = null;
            try (KafkaProducer<String, byte[]> verifiers = producer(kafka.bootstrap())) {
                int half = dues.size() / 2;
                for (int i = 0; i < dues.size(); i++) {
                    Due d = dues.get(i);
                    verifiers.send(new ProducerRecord<>(KafkaTopics.rewards(FLEET), d.device(), d.encode()));
                    if (i == half) {
                        verifiers.flush();
                        forged.forEach((what, bytes) ->
                                verifiers.send(new ProducerRecord<>(KafkaTopics.rewards(FLEET), what, bytes)));
                        verifiers.flush();
                        await("the first payer paid some")
                                .atMost(Duration.ofSeconds(60))
                                .until(() -> first.stats().paid() > 0);
                        // A second payer of the fleet: the first one's open transaction is aborted and
                        // it is fenced, as a payer killed mid-transaction and started again would be.
                        second = new Payer(FLEET, rewardKey, kafka.bootstrap());
                        secondRun = new Thread(second::run, "payer-2");
                        secondRun.start();
                        Payer taking = second;
                        // Once it has fenced the first and read where the nonces stand, the rest come: the
                        // first meets them with its fenced producer (a fenced payer that gets no due
                        // idles until one comes, then stops and leaves its partitions to the group).
                        await("the second payer started")
                                .atMost(Duration.ofSeconds(60))
                                .until(() -> taking.stats().nextNonce() >= 0);
                    }
                }
                verifiers.flush();
            }
            Payer taker = second;
            await("the first payer is fenced").atMost(Duration.ofSeconds(60)).until(() -> !firstRun.isAlive());
            System.out.println("the first payer: " + first.failure().orElse("(no failure)") + "; " + first.stats());
            assertTrue(
                    first.failure().orElse("").contains("another payer"),
                    first.failure().toString());
            assertTrue(first.failureIsSettled(), "taken over: not one for a restart to mend");

            Map<String, List<Long>> paid = new HashMap<>();
            await("every due paid")
                    .atMost(Duration.ofSeconds(90))
                    .pollInterval(Duration.ofMillis(500))
                    .until(() -> {
                        paid.clear();
                        paid.putAll(payments(kafka, rewardKey, dues));
                        return paid.size() == dues.size();
                    });
            taker.close();
            secondRun.join(20_000);

            List<Long> nonces = new ArrayList<>();
            paid.values().forEach(nonces::addAll);
            nonces.sort(null);
            long twice = paid.values().stream().filter(n -> n.size() > 1).count();
            long refused = first.stats().refused() + taker.stats().refused();
            System.out.println("tried: " + dues.size() + " dues and " + forged.size() + " forged records "
                    + forged.keySet()
                    + ", a second payer started mid-run; paid " + paid.size() + " dues, twice " + twice + ", missing "
                    + (dues.size() - paid.size()) + ", refused " + refused + ", nonces " + nonces.get(0) + ".."
                    + nonces.get(nonces.size() - 1));
            assertEquals(0, twice, "dues paid twice");
            assertEquals(dues.size(), nonces.size());
            for (int i = 0; i < nonces.size(); i++) {
                assertEquals(i, nonces.get(i), "the nonces count up from 0 without a gap or a repeat");
            }
            assertEquals(forged.size(), refused, "the forged records are refused, once each");

            // Started again: the nonces go on from the last payment.
            try (KafkaProducer<String, byte[]> verifiers = producer(kafka.bootstrap())) {
                Payer again = new Payer(FLEET, rewardKey, kafka.bootstrap());
                Thread run = new Thread(again::run, "payer-3");
                run.start();
                Due late = new Due(
                        devices.get(3).deviceId().value(), devices.get(3).publicKey(), EPOCHS + 1, 77);
                verifiers.send(new ProducerRecord<>(KafkaTopics.rewards(FLEET), late.device(), late.encode()));
                verifiers.flush();
                List<Due> all = new ArrayList<>(dues);
                all.add(late);
                Map<String, List<Long>> after = new HashMap<>();
                await("the late due paid")
                        .atMost(Duration.ofSeconds(60))
                        .pollInterval(Duration.ofMillis(500))
                        .until(() -> {
                            after.clear();
                            after.putAll(payments(kafka, rewardKey, all));
                            return after.containsKey(late.device() + "#" + late.epoch());
                        });
                again.close();
                run.join(20_000);
                System.out.println("after a restart: the next due paid with nonce "
                        + after.get(late.device() + "#" + late.epoch()) + "; " + again.stats());
                assertEquals(List.of((long) dues.size()), after.get(late.device() + "#" + late.epoch()));
                assertEquals(dues.size() + 1, after.size(), "nothing else paid again after the restart");
            }

            // Another reward key on the same fleet would start a second nonce sequence: refused.
            Payer stranger = new Payer(FLEET, DeviceKeys.generate(), kafka.bootstrap());
            stranger.run();
            System.out.println("refused: a payer with another reward key: "
                    + stranger.failure().orElse("(ran)"));
            assertTrue(
                    stranger.failure().orElse("").contains("was made by reward key"),
                    stranger.failure().toString());
            assertEquals(0, stranger.stats().paid());
            assertTrue(stranger.failureIsSettled());
        }
    }

    /**
     * The committed payments by key (device#epoch), each checked against its due: the transaction
     * is the reward key's signature of the due's amount to the device's key with the payment's nonce.
     */
    private static Map<String, List<Long>> payments(KafkaBroker kafka, DeviceKeys rewardKey, List<Due> dues) {
        Map<String, Due> byKey = new HashMap<>();
        dues.forEach(d -> byKey.put(d.device() + "#" + d.epoch(), d));
        Map<String, List<Long>> out = new HashMap<>();
        kafka.readCommitted(KafkaTopics.payments(FLEET), 1, r -> {
            CBORObject m = CBORObject.DecodeFromBytes(r.value());
            Due d = byKey.get(r.key());
            assertTrue(d != null, "a payment of no due: " + r.key());
            long nonce = m.get("nonce").AsInt64Value();
            assertEquals(d.amount(), m.get("amount").AsInt64Value(), r.key());
            assertArrayEquals(
                    RewardIssuer.rewardTx(rewardKey, nonce, d.recipient(), d.amount())
                            .encode(),
                    m.get("tx").GetByteString(),
                    "the payment's transaction of " + r.key());
            out.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(nonce);
        });
        return out;
    }

    private static byte[] versionTwo(DeviceKeys d) {
        CBORObject m = CBORObject.DecodeFromBytes(new Due(d.deviceId().value(), d.publicKey(), 98, 10).encode());
        m.set("v", CBORObject.FromObject(2));
        return m.EncodeToBytes();
    }

    private static KafkaProducer<String, byte[]> producer(String bootstrap) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        return new KafkaProducer<>(p);
    }
}
