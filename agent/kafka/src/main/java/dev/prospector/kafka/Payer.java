package dev.prospector.kafka;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.verifier.RewardIssuer;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.ledger.Address;
import dev.prospector.ledger.Tx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.tinylog.Logger;

/**
 * Pays the rewards due that a group of Kafka verifiers writes: reads {@code prospector.<fleet>.rewards}
 * and writes, for each due, the signed ledger transaction that pays it ({@link
 * RewardIssuer#rewardTx}: kind REWARD, sender the network's reward key, a nonce that counts up over
 * every reward that key ever paid) to {@code prospector.<fleet>.payments}, one partition, in nonce
 * order. What the MQTT verifier keeps in its {@code rewards.log}, the Kafka mode keeps here.
 *
 * <h2>Design</h2>
 * Consume, sign, produce, in Kafka transactions: a poll's payments and the consumed offsets of the
 * rewards topic are committed in one transaction ({@code sendOffsetsToTransaction}), so a payer killed
 * at any point neither skips a due nor pays one twice; what it wrote in a transaction that did not
 * commit is never read (readers use {@code read_committed}). The verifiers write each (device,
 * epoch) due once ({@link KafkaVerifier}), so each is paid once.
 *
 * <p><b>One payer, one nonce sequence.</b> A nonce may never pay two different transactions, so a
 * fleet has one payer at a time: its transactional id is the fleet's ({@code
 * prospector-payer-<fleet>}), and a second payer started with it fences the first (Kafka's zombie
 * fencing: the first one's next transaction fails and it stops, with one line saying so). Being
 * fenced is the only way two could overlap, and the newer one starts only after the older one's
 * open transaction is aborted ({@code initTransactions}). So the next nonce is read at start from
 * the payments topic, the last committed payment's plus one, and kept in memory afterwards; a
 * transaction that fails is aborted, the consumer goes back to the committed offsets and the
 * nonce back to where it was, and the same dues are paid again with the same nonces.
 *
 * <p><b>Inputs.</b> The rewards topic is written by the verifiers (Kafka's ACLs keep anyone else
 * from it, docs/NETWORK.md). Each record is still bounded ({@link #MAX_RECORD_BYTES}) and checked:
 * a known version, an amount above 0, a recipient key of 32 bytes whose hash is the device id the
 * due names. A record that fails is counted and logged, and skipped: a payment is made only for a
 * due that is whole.
 */
public final class Payer implements AutoCloseable {
    /** A reward due is about 150 bytes; anything much larger is not one. */
    static final int MAX_RECORD_BYTES = 4096;

    /** Dues read, at most, per poll (and so per transaction). */
    static final int MAX_POLL_RECORDS = 500;

    /** A payment: the due it pays, the reward key that pays it (its id), and the transaction. */
    public record Payment(long epoch, String device, long amount, String payer, long nonce, Tx tx) {
        /** The record's key on the payments topic. */
        public String key() {
            return device + "#" + epoch;
        }

        byte[] encode() {
            return CBORObject.NewOrderedMap()
                    .Add("v", 1)
                    .Add("epoch", epoch)
                    .Add("device", device)
                    .Add("amount", amount)
                    .Add("payer", payer)
                    .Add("nonce", nonce)
                    .Add("tx", tx.encode())
                    .EncodeToBytes();
        }

        /** The paying key's id and the nonce of a payments record; empty for one that is not a payment. */
        static Optional<Map.Entry<String, Long>> nonceOf(byte[] bytes) {
            try {
                CBORObject m = CBORObject.DecodeFromBytes(bytes);
                if (m.get("v").AsInt32Value() != 1) {
                    return Optional.empty();
                }
                return Optional.of(
                        Map.entry(m.get("payer").AsString(), m.get("nonce").AsInt64Value()));
            } catch (RuntimeException e) {
                return Optional.empty();
            }
        }
    }

    /** What a payer has done since its start. */
    public record Stats(long paid, long refused, long transactions, long nextNonce) {}

    private final String fleet;
    private final DeviceKeys key;
    private final KafkaConsumer<String, byte[]> consumer;
    private final KafkaProducer<String, byte[]> producer;
    private final String bootstrap;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicBoolean ran = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicLong paid = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    /** Refusals met, counted before their transaction commits (for the log only). */
    private final AtomicLong refusedSeen = new AtomicLong();

    private final AtomicLong transactions = new AtomicLong();
    private volatile long nextNonce = -1;
    private volatile String failure;
    /** The failure is one a restart would not mend (taken over, another key): an operator's to settle. */
    private volatile boolean settled;

    private boolean inTransaction;

    /** A payer of {@code fleet}'s rewards due at Kafka {@code bootstrap}, signing with the reward {@code key}. */
    public Payer(String fleet, DeviceKeys key, String bootstrap) {
        this.fleet = fleet;
        this.key = key;
        this.bootstrap = bootstrap;
        String id = "prospector-payer-" + fleet;
        Properties c = KafkaClients.readCommitted(bootstrap, id);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, id);
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, String.valueOf(MAX_POLL_RECORDS));
        c.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(MAX_POLL_RECORDS * MAX_RECORD_BYTES));
        this.consumer = new KafkaConsumer<>(c);
        this.producer = new KafkaProducer<>(KafkaClients.transactional(bootstrap, id, id));
    }

    /** The reward key's ledger address: the genesis' reward key. */
    public Address address() {
        return Address.of(key.publicKey());
    }

    public Stats stats() {
        return new Stats(paid.get(), refused.get(), transactions.get(), nextNonce);
    }

    /**
     * Pays dues until {@link #close}; returns then, or when this payer cannot go on: fenced by a
     * newer payer of the fleet, or Kafka failing in a way a retry cannot mend ({@link #failure}).
     */
    public void run() {
        if (!ran.compareAndSet(false, true)) {
            throw new IllegalStateException("a payer runs once");
        }
        try {
            producer.initTransactions(); // aborts what an earlier payer of the fleet left open
            Optional<Map.Entry<String, Long>> last = lastNonce();
            if (last.isPresent() && !last.get().getKey().equals(key.deviceId().value())) {
                failure = "the last payment on " + KafkaTopics.payments(fleet) + " was made by reward key "
                        + last.get().getKey() + ", not this payer's " + key.deviceId()
                        + ": a fleet has one reward key (the ledger genesis'); start the payer with that key's state dir";
                settled = true;
                return;
            }
            nextNonce = last.map(e -> e.getValue() + 1).orElse(0L);
            Logger.info(
                    "payer of fleet {}: reward key {} (ledger address {}), next nonce {}",
                    fleet,
                    key.deviceId(),
                    address(),
                    nextNonce);
            consumer.subscribe(List.of(KafkaTopics.rewards(fleet)));
            while (!stop.get()) {
                ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(500));
                if (!records.isEmpty()) {
                    pay(records);
                }
            }
        } catch (org.apache.kafka.common.errors.WakeupException | org.apache.kafka.common.errors.InterruptException e) {
            if (!stop.get()) {
                failure = "interrupted: " + e;
            }
        } catch (ProducerFencedException e) {
            failure = "another payer of fleet " + fleet
                    + " started with its transactional id and took over; this one stopped (one payer per fleet)";
            settled = true;
        } catch (KafkaException e) {
            failure = "Kafka at " + bootstrap + ": " + e.getMessage();
        } finally {
            KafkaClients.shutDown(consumer, producer, inTransaction);
            stopped.countDown();
        }
    }

    /** Why {@link #run} returned before {@link #close}; empty after a close. */
    public Optional<String> failure() {
        return Optional.ofNullable(failure);
    }

    /**
     * Whether the failure is one that starting again would not mend: another payer of the fleet took
     * over, or this payer's key is not the fleet's. Restarting it then would fence the other payer in
     * turn, and the two would take turns.
     */
    public boolean failureIsSettled() {
        return settled;
    }

    /** One transaction: a payment for each whole due of the poll, and the poll's offsets. */
    private void pay(ConsumerRecords<String, byte[]> records) {
        long nonce = nextNonce;
        List<Payment> payments = new ArrayList<>();
        long bad = 0;
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<String, byte[]> r : records) {
            offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
            RewardDue due;
            try {
                due = due(r);
            } catch (Refused refused) {
                bad++;
                // The 1st, 10th, 100th, ... refusal at warn: a flood of bad records cannot flood the log.
                long n = refusedSeen.incrementAndGet();
                if (n == 1 || dev.prospector.agent.verifier.OutcomeLog.isPowerOfTen(n)) {
                    Logger.warn(
                            "refused {} record(s) of {} so far; the latest, at partition {} offset {}: {}",
                            n,
                            r.topic(),
                            r.partition(),
                            r.offset(),
                            refused.getMessage());
                } else {
                    Logger.debug(
                            "refused the record at partition {} offset {}: {}",
                            r.partition(),
                            r.offset(),
                            refused.getMessage());
                }
                continue;
            }
            payments.add(new Payment(
                    due.epoch(),
                    due.device(),
                    due.amount(),
                    key.deviceId().value(),
                    nonce,
                    RewardIssuer.rewardTx(key, nonce, due.recipient(), due.amount())));
            nonce++;
        }
        try {
            producer.beginTransaction();
            inTransaction = true;
            for (Payment pm : payments) {
                producer.send(new ProducerRecord<>(KafkaTopics.payments(fleet), 0, pm.key(), pm.encode()));
            }
            producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
            producer.commitTransaction();
            inTransaction = false;
        } catch (ProducerFencedException e) {
            throw e;
        } catch (KafkaException e) {
            Logger.warn("a payment transaction failed ({}); aborted, paying the same dues again", e.getMessage());
            producer.abortTransaction(); // throws when the producer is unusable: the payer stops
            inTransaction = false;
            rewind();
            return;
        }
        nextNonce = nonce;
        paid.addAndGet(payments.size());
        refused.addAndGet(bad);
        transactions.incrementAndGet();
        if (!payments.isEmpty()) {
            Logger.info(
                    "paid {} reward(s), nonces {} to {}{}",
                    payments.size(),
                    payments.get(0).nonce(),
                    nonce - 1,
                    bad > 0 ? " (" + bad + " record(s) refused)" : "");
        }
    }

    /** A record of the rewards topic that is not a whole due; the message says what is wrong. */
    static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;

        Refused(String why) {
            super(why, null, false, false);
        }
    }

    /** The due a record of the rewards topic holds, checked whole. */
    static RewardDue due(ConsumerRecord<String, byte[]> r) throws Refused {
        if (r.value() == null || r.value().length > MAX_RECORD_BYTES) {
            throw new Refused("not a reward due: " + (r.value() == null ? "no value" : r.value().length + " bytes"));
        }
        RewardDue due = RewardDue.decode(r.value())
                .orElseThrow(() -> new Refused("not a reward due (version 1 CBOR expected)"));
        if (due.amount() <= 0) {
            throw new Refused("amount " + due.amount() + " is not above 0");
        }
        if (due.recipient() == null || due.recipient().length != 32) {
            throw new Refused("the recipient is not a 32-byte public key");
        }
        if (!DeviceId.isValid(due.device())
                || !DeviceId.of(due.recipient()).value().equals(due.device())) {
            throw new Refused("the recipient key is not device " + due.device() + "'s");
        }
        return due;
    }

    /** The consumer back to the committed offsets (after an aborted transaction). */
    private void rewind() {
        var assigned = consumer.assignment();
        Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(assigned);
        for (TopicPartition tp : assigned) {
            OffsetAndMetadata o = committed.get(tp);
            if (o != null) {
                consumer.seek(tp, o);
            } else {
                consumer.seekToBeginning(List.of(tp));
            }
        }
    }

    /** The key and nonce of the last committed payment, by reading the payments topic back from its end. */
    private Optional<Map.Entry<String, Long>> lastNonce() {
        Properties c = KafkaClients.readCommitted(bootstrap, "prospector-payer-" + fleet + "-start");
        TopicPartition tp = new TopicPartition(KafkaTopics.payments(fleet), 0);
        try (KafkaConsumer<String, byte[]> reader = new KafkaConsumer<>(c)) {
            reader.assign(List.of(tp));
            long end = reader.endOffsets(List.of(tp)).get(tp);
            // Transaction markers take offsets too: look back further until a payment is found.
            for (long window = 2L * MAX_POLL_RECORDS + 2; ; window *= 4) {
                long from = Math.max(0, end - window);
                reader.seek(tp, from);
                Optional<Map.Entry<String, Long>> last = Optional.empty();
                while (reader.position(tp) < end) {
                    for (ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(500))) {
                        Optional<Map.Entry<String, Long>> n = Payment.nonceOf(r.value());
                        if (n.isPresent()) {
                            last = n;
                        }
                    }
                }
                if (last.isPresent() || from == 0) {
                    return last;
                }
            }
        }
    }

    /** Stops {@link #run} and waits for it (up to 10 s). */
    @Override
    public void close() {
        stop.set(true);
        if (ran.compareAndSet(false, true)) {
            KafkaClients.shutDown(consumer, producer, false); // never ran
            stopped.countDown();
            return;
        }
        consumer.wakeup();
        try {
            if (!stopped.await(10, java.util.concurrent.TimeUnit.SECONDS)) {
                Logger.warn("the payer of fleet {} did not stop within 10 s", fleet);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
