package dev.prospector.kafka;

import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.Topics;
import dev.prospector.agent.verifier.OutcomeLog;
import dev.prospector.agent.verifier.ProofOfService;
import dev.prospector.agent.verifier.ReceiptSigner;
import dev.prospector.agent.verifier.VerifierService;
import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Limits;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.ReceiptBatch;
import dev.prospector.attest.Sha256;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.tinylog.Logger;

/**
 * {@code prospector verifier --kafka}: one verifier of a Kafka consumer group over a fleet's
 * reports topic. Kafka gives each partition, so each device, to one verifier of the group at a
 * time.
 *
 * <h2>Exactly once</h2>
 * Each poll's reports are appraised, then in one Kafka transaction: one verdict per report that is
 * not a duplicate on the acceptance topic ({@link Verdict}), each acceptance on the compacted chain
 * topic, and the consumed offsets ({@code sendOffsetsToTransaction} with the group's metadata, so a
 * verifier that lost its partitions is fenced). A verifier killed before the commit leaves nothing
 * (read_committed readers never see an aborted transaction) and the reports are consumed again by
 * whoever gets the partition; killed after it, the offsets moved with the verdicts. So every report
 * is decided, and counted, once. A report sent twice by a bridge is a duplicate of an accepted one
 * (the appraiser remembers a device's last {@link Limits#DUPLICATE_WINDOW} reports) and writes no
 * verdict.
 *
 * <h2>When partitions move</h2>
 * On every assignment the verifier starts from a fresh appraiser and replays, for each partition it
 * now holds, that partition of the chain topic (read_committed, from the start; compaction keeps it
 * at {@link Limits#DUPLICATE_WINDOW} records per device), ordered by report time and seq. A failed
 * transaction is handled the same way: abort, rewind to the committed offsets, rebuild. Before it
 * rebuilds it waits for a transaction still open on those partitions, left by a verifier that lost
 * them without noticing yet: every transaction carries the offsets of all the partitions its writer
 * holds, so the new holder's read_committed offset fetch waits for it (KIP-447), and the state
 * topics are read to their high watermark rather than to the last stable offset.
 *
 * <h2>Out of order</h2>
 * Two bridges can put a device's reports on its partition out of seq order. The appraiser already
 * accepts a late report that fills a hole within the last {@link Limits#DUPLICATE_WINDOW} seqs (and
 * fits its neighbours' hashes), so nothing is held back: an honest report is refused only if it is
 * more than that many reports late (docs/NETWORK.md).
 *
 * <h2>Log lines</h2>
 * Each committed decision is logged as the MQTT verifier logs its own ({@link OutcomeLog}: an
 * acceptance at info, a tracked device's refusal as a warning, at most 20 of a kind in 10 s).
 *
 * <h2>Receipts</h2>
 * After the commit, each report's receipt (with a fresh challenge, from the group's shared
 * challenge secret) goes to the device over MQTT, as the MQTT verifier sends it: handed to a
 * {@link ReceiptSigner} (up to {@link #RECEIPT_BATCH} under one signature, {@link ReceiptBatch}, in
 * order), the MQTT verifier's own, whose thread signs and publishes them while the poll loop goes on
 * with the next poll (no change in rate measurable here, docs/BENCHMARKS.md). A receipt lost to a
 * crash between commit and publish is not sent again; the board re-sends the report and gets a
 * duplicate's receipt.
 *
 * <h2>Proofs of service</h2>
 * With a judge ({@link ProofOfService#partitioned}), each accepted report's evidence is judged as the
 * MQTT verifier judges it (audit answers, bandwidth receipts, uptime between arrivals, which are the
 * records' Kafka timestamps here, stamped by the broker), and its receipt's challenge may ask an
 * audit or a bandwidth test.
 * The state of every device this changed goes on the compacted service topic in the poll's
 * transaction, and the rewards due at an epoch's close on the rewards topic ({@link RewardDue}) in
 * the transaction that writes the devices' closed state: a verifier killed in between leaves
 * neither, so no (device, epoch) is paid twice or lost. A verifier given partitions starts a fresh
 * judge from that topic, as it rebuilds the chain state. The judge's clock work (audits left
 * unanswered, epochs to close) runs on the poll loop every {@link #TICK}, after a poll's reports are
 * committed; what it changed is committed in a transaction of its own, with the consumed offsets as
 * they stand so that a verifier no longer of the group is fenced. It goes only as far as the reports
 * read ({@link #readThrough}): a verifier behind its partitions (after an outage, or a rebalance
 * that handed it a backlog) closes no epoch and gives up no audit that a report still to read could
 * change. Between a revocation and the next assignment the judge does nothing.
 *
 * <h2>Every core</h2>
 * A poll's reports are appraised on {@code workers} threads, each device's reports on one of them in
 * partition order ({@code hash(device) mod workers}); each receipt is made there too (signed and
 * published only after the commit). The transaction waits for all. Every poll is committed before the next
 * poll, so a rebalance (which happens in a poll) never finds an appraised poll uncommitted.
 * (Appraising poll N+1 while N commits was tried and left out: with it, {@code KafkaChaosIT} failed
 * in two runs of three, honest first reports of some devices never accepted; see docs/NETWORK.md.)
 */
public final class KafkaVerifier implements AutoCloseable {
    /** The producer's first retry backoff (see where the producer is configured). */
    static final Duration RETRY_BACKOFF = Duration.ofMillis(10);

    /** How often the judge's clock work runs, at most (between polls). */
    static final Duration TICK = Duration.ofSeconds(1);

    /** Reports taken per poll at most (one transaction). */
    static final int MAX_POLL_RECORDS = 1_000;

    private final String fleet;
    private final String verifierId;
    private final Supplier<Appraiser> appraisers;
    /** Receipts under one signature, at most: as the MQTT verifier's default. */
    static final int RECEIPT_BATCH = VerifierService.DEFAULT_RECEIPT_BATCH;

    private final DeviceKeys receiptKey;
    private final Optional<MqttLink> receipts;
    /** The log lines of committed decisions, capped as the MQTT verifier's. */
    private final OutcomeLog lines = new OutcomeLog();
    /** Signs and sends the receipts of committed polls, off the poll loop; present with {@link #receipts}. */
    private final Optional<ReceiptSigner> signer;

    private final KafkaConsumer<String, byte[]> consumer;
    private final KafkaProducer<String, byte[]> producer;
    private final String bootstrap;
    private final ExecutorService pool;
    private final int workers;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final CopyOnWriteArrayList<BiConsumer<String, Appraisal>> observers = new CopyOnWriteArrayList<>();
    private final LongAdder accepted = new LongAdder();
    private final LongAdder duplicates = new LongAdder();
    private final LongAdder rejected = new LongAdder();
    private final LongAdder transactions = new LongAdder();
    private final LongAdder rebuilds = new LongAdder();
    private volatile Appraiser appraiser;
    /** Makes a fresh judge at each rebuild, its closed epochs handed to {@link #dues}; empty: no proofs of service. */
    private final Optional<Function<ProofOfService.Dues, ProofOfService>> proofs;
    /** The judge of the partitions held, or null (no proofs of service, or revoked and not yet rebuilt). */
    private volatile ProofOfService judge;
    /** Rewards due from the judge's last ticks, for the next transaction (the loop thread's only). */
    private final List<RewardDue> dues = new ArrayList<>();
    /**
     * The partition of each device the judge knows (restored, or accepted since), for writing its
     * state where its reports are; cleared at each rebuild.
     */
    private final Map<String, Integer> partitionOf = new ConcurrentHashMap<>();

    private long lastTickNanos;
    /**
     * The Kafka timestamp (the broker's clock at its arrival) of the last report judged and
     * committed on each partition held; cleared at each rebuild (the loop thread's only).
     */
    private final Map<TopicPartition, Long> readTo = new HashMap<>();
    /** The partitions whose chain state {@link #appraiser} holds: set by a rebuild, shrunk by a revocation. */
    private volatile Set<Integer> held = Set.of();

    private Thread loop;
    /** A transaction is open (the loop thread's only). */
    private boolean inTransaction;

    /**
     * @param group the consumer group: verifiers of one fleet share its reports
     * @param verifierId this verifier's name in the group (its transactional id is derived from it:
     *     give each verifier its own, and the same one across its restarts)
     * @param appraisers makes a fresh appraiser (same settings, same challenge secret) each time the
     *     partitions move
     * @param receipts the MQTT link receipts go out on, already connected or connecting; empty for none
     * @param proofs makes a fresh judge of proofs of service ({@link ProofOfService#partitioned}, the
     *     same settings each time) handing its closed epochs to the given {@link ProofOfService.Dues};
     *     empty to judge none
     */
    public KafkaVerifier(
            String fleet,
            String bootstrap,
            String group,
            String verifierId,
            Supplier<Appraiser> appraisers,
            DeviceKeys receiptKey,
            Optional<MqttLink> receipts,
            int workers,
            Optional<Function<ProofOfService.Dues, ProofOfService>> proofs) {
        this.fleet = fleet;
        this.proofs = proofs;
        this.bootstrap = bootstrap;
        this.verifierId = verifierId;
        this.appraisers = appraisers;
        this.receiptKey = receiptKey;
        this.receipts = receipts;
        this.workers = workers;
        this.appraiser = appraisers.get();
        this.judge = proofs.map(f -> f.apply(this::due)).orElse(null);
        this.pool = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "kafka-verifier-appraise");
            t.setDaemon(true);
            return t;
        });
        Properties c = KafkaClients.readCommitted(bootstrap, "prospector-verifier-" + verifierId);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, String.valueOf(MAX_POLL_RECORDS));
        c.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
        c.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
        this.consumer = new KafkaConsumer<>(c);
        Properties p = KafkaClients.transactional(
                bootstrap,
                "prospector-verifier-" + verifierId,
                "prospector-verifier-" + fleet + "-" + group + "-" + verifierId);
        p.put(ProducerConfig.LINGER_MS_CONFIG, "2");
        // Back-to-back transactions: the next one's first request (adding partitions or the
        // consumed offsets) can find the coordinator still completing the last commit, is refused
        // (CONCURRENT_TRANSACTIONS) and retried after retry.backoff.ms, 100 ms by default. That was
        // the 100-250 ms tail of the publish-to-receipt latency; 10 ms took its p99 from 192-215 to
        // 51-60 ms (docs/BENCHMARKS.md). Real failures still back off exponentially, up to
        // retry.backoff.max.ms (1 s).
        p.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, String.valueOf(RETRY_BACKOFF.toMillis()));
        this.producer = new KafkaProducer<>(p);
        // Last: its thread starts at once, and nothing after it can fail and leave it running.
        this.signer = receipts.map(link -> new ReceiptSigner(
                receiptKey,
                RECEIPT_BATCH,
                (topic, message) -> link.publish(topic, message, 1, false),
                "kafka-verifier-receipts-" + verifierId));
    }

    /**
     * Judges of proofs of service as {@code prospector verifier --kafka} makes them: {@code settings},
     * the measurement endpoints {@code trusted}, the system clock, challenges living
     * {@link Limits#CHALLENGE_TTL}.
     */
    public static Function<ProofOfService.Dues, ProofOfService> judges(
            dev.prospector.agent.verifier.ServiceSettings settings, List<byte[]> trusted) {
        return dues ->
                ProofOfService.partitioned(settings, java.time.Clock.systemUTC(), Limits.CHALLENGE_TTL, trusted, dues);
    }

    /** Called with (device, outcome) for every report decided, after its transaction committed. */
    public void observe(BiConsumer<String, Appraisal> observer) {
        observers.add(observer);
    }

    public long accepted() {
        return accepted.sum();
    }

    public long duplicates() {
        return duplicates.sum();
    }

    public long rejected() {
        return rejected.sum();
    }

    /** Transactions committed. */
    public long transactions() {
        return transactions.sum();
    }

    /** Times the chain state was rebuilt (partitions moved, or a transaction failed). */
    public long rebuilds() {
        return rebuilds.sum();
    }

    /**
     * The reports partitions this verifier holds and has rebuilt the chain state of, ready to
     * appraise: empty before its first assignment and while a rebalance has taken them away.
     */
    public Set<Integer> heldPartitions() {
        return held;
    }

    /**
     * The judge of proofs of service of the partitions held now: empty without proofs of service, and
     * between a revocation and the next assignment.
     */
    public Optional<ProofOfService> proofs() {
        return Optional.ofNullable(judge);
    }

    /** Starts the poll loop on a thread of its own. */
    public synchronized void start() {
        if (loop != null) {
            return;
        }
        loop = new Thread(this::run, "kafka-verifier-" + verifierId);
        loop.setDaemon(true);
        loop.start();
    }

    /** The poll loop, until {@link #close}. */
    public void run() {
        try {
            producer.initTransactions();
            consumer.subscribe(List.of(KafkaTopics.reports(fleet)), new Rebalance());
            while (!stop.get()) {
                ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(200));
                if (!records.isEmpty()) {
                    Pending p = appraise(records);
                    p.await();
                    if (commit(p)) {
                        readTo(records);
                    } // else rewound to the committed offsets: this poll's records come again
                }
                // After the poll's reports are judged: the clock work goes as far as what was read.
                if (tick() && judge != null && (!dues.isEmpty() || judgeChanged())) {
                    commitProofs();
                }
            }
        } catch (org.apache.kafka.common.errors.WakeupException | org.apache.kafka.common.errors.InterruptException e) {
            if (!stop.get()) {
                Logger.error("the Kafka verifier {} stopped: {}", verifierId, e.toString());
            }
        } catch (ProducerFencedException e) {
            Logger.error("the Kafka verifier {} was fenced by a newer one with its id; stopping", verifierId);
        } catch (RuntimeException e) {
            Logger.error(e, "the Kafka verifier {} stopped", verifierId);
        } finally {
            KafkaClients.shutDown(consumer, producer, inTransaction);
        }
    }

    /** A report appraised on a worker, with its receipt (unsigned: signed by the batch after the commit). */
    private record Decided(
            ConsumerRecord<String, byte[]> record, Optional<DeviceId> device, Appraisal outcome, Receipt receipt) {}

    /** A poll's reports and their appraisal on the workers. */
    private static final class Pending {
        final ConsumerRecords<String, byte[]> records;
        final Decided[] decided;
        final List<Future<?>> lanes;

        Pending(ConsumerRecords<String, byte[]> records, Decided[] decided, List<Future<?>> lanes) {
            this.records = records;
            this.decided = decided;
            this.lanes = lanes;
        }

        /** Waits for the workers to finish this poll. */
        void await() {
            for (Future<?> f : lanes) {
                try {
                    f.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new org.apache.kafka.common.errors.InterruptException(e);
                } catch (ExecutionException e) {
                    throw new IllegalStateException("appraisal failed", e.getCause());
                }
            }
        }
    }

    /**
     * Commits an appraised poll in one transaction (verdicts, chain entries, offsets), then counts
     * and sends its receipts. False when the transaction failed: it was aborted and the consumer
     * rewound to the committed offsets with the chain state rebuilt.
     */
    private boolean commit(Pending p) {
        Decided[] decided = p.decided;
        String verdicts = KafkaTopics.verdicts(fleet);
        String chain = KafkaTopics.chain(fleet);
        // Every partition held, not only those of this poll: the judge may have written the state of
        // any of their devices, and the next holder of a partition waits for a transaction with
        // offsets pending on it before it rebuilds (see the assignment).
        Map<TopicPartition, OffsetAndMetadata> offsets = positions();
        for (TopicPartition tp : p.records.partitions()) {
            List<ConsumerRecord<String, byte[]>> mine = p.records.records(tp);
            offsets.put(tp, new OffsetAndMetadata(mine.get(mine.size() - 1).offset() + 1));
        }
        boolean committed = transact(decided.length + " reports", offsets, () -> {
            for (Decided d : decided) {
                if (d.outcome() instanceof Appraisal.Accepted acc && acc.duplicate()) {
                    continue;
                }
                String key = d.record().key() == null ? "" : d.record().key();
                int partition = d.record().partition();
                byte[] hash = d.outcome() instanceof Appraisal.Accepted acc
                        ? acc.reportHash()
                        : Sha256.of(d.record().value());
                producer.send(new ProducerRecord<>(
                        verdicts,
                        partition,
                        key,
                        Verdict.of(key, d.outcome(), hash, verifierId).encode()));
                if (d.outcome() instanceof Appraisal.Accepted acc) {
                    Appraiser.AcceptedEntry e = Appraiser.AcceptedEntry.of(acc);
                    producer.send(new ProducerRecord<>(
                            chain,
                            partition,
                            e.device().value() + "#" + Math.floorMod(e.seq(), (long) Limits.DUPLICATE_WINDOW),
                            Verdict.encode(e)));
                }
            }
        });
        if (!committed) {
            return false;
        }
        for (Decided d : decided) {
            count(d.outcome());
            String device = d.device()
                    .map(DeviceId::value)
                    .orElse(String.valueOf(d.record().key()));
            lines.log(
                    device,
                    d.outcome(),
                    d.device().isPresent() && appraiser.tracks(d.device().get()));
            observers.forEach(o -> o.accept(device, d.outcome()));
            if (d.receipt() != null && signer.isPresent()) {
                // In order, many under one signature (ReceiptBatch), on the signer's thread: this
                // one goes on with the next poll meanwhile.
                signer.get().submit(Topics.receipt(fleet, device), d.receipt());
            }
        }
        return true;
    }

    /** Called by the judge, under its lock, on the loop thread (in {@link #tick}): a closed epoch. */
    private void due(
            long epoch,
            List<dev.prospector.agent.verifier.RewardIssuer.Due> due,
            Map<DeviceId, dev.prospector.agent.verifier.Scoring.EpochScore> scored) {
        for (var d : due) {
            dues.add(RewardDue.of(epoch, d, scored.get(d.device()), verifierId));
        }
    }

    /**
     * The judge's clock work, at most every {@link #TICK}; nothing while it is stale. False when it
     * failed and the verifier went back to the committed offsets.
     */
    private boolean tick() {
        ProofOfService j = judge;
        long now = System.nanoTime();
        if (j == null || now - lastTickNanos < TICK.toNanos()) {
            return true;
        }
        OptionalLong through = readThrough(consumer.assignment(), consumer::currentLag, readTo);
        if (through.isEmpty()) {
            return true; // behind on a partition whose reports are not read yet: nothing may close
        }
        lastTickNanos = now;
        try {
            j.tick(through.getAsLong());
        } catch (RuntimeException e) {
            // It may have handed over an epoch's dues without recording the close in its devices:
            // start again from what is committed, so that the close is done once.
            Logger.error(e, "proof of service: a periodic step failed; rebuilding from Kafka, tried again after");
            rewind();
            return false;
        }
        return true;
    }

    /** Notes how far each partition of a committed poll was read ({@link #readTo}). */
    private void readTo(ConsumerRecords<String, byte[]> records) {
        for (TopicPartition tp : records.partitions()) {
            for (ConsumerRecord<String, byte[]> r : records.records(tp)) {
                readTo.merge(tp, r.timestamp(), Math::max);
            }
        }
    }

    /**
     * How far in time the reports of {@code held} have been read: {@link Long#MAX_VALUE} when every
     * partition is read to its end ({@code lag} 0: the judge goes by its clock), else the earliest
     * of the arrival times read to on the partitions still behind; empty when one of those has had
     * none read since it came (or since a rewind): its reports could be of any time, so nothing
     * waits on them may be decided. An epoch closed, or an audit given up, as of this time cannot be
     * changed by a report still to read: its arrival is later, and it credits uptime at most
     * {@code uptime-max-gap} back ({@link ProofOfService#tick(long)}).
     */
    static OptionalLong readThrough(
            Set<TopicPartition> held, Function<TopicPartition, OptionalLong> lag, Map<TopicPartition, Long> readTo) {
        long through = Long.MAX_VALUE;
        for (TopicPartition tp : held) {
            OptionalLong behind = lag.apply(tp);
            if (behind.isPresent() && behind.getAsLong() == 0) {
                continue;
            }
            Long at = readTo.get(tp);
            if (at == null) {
                return OptionalLong.empty();
            }
            through = Math.min(through, at);
        }
        return OptionalLong.of(through);
    }

    private boolean judgeChanged() {
        ProofOfService j = judge;
        return j != null && j.hasChanged();
    }

    /**
     * Writes, in the open transaction, the state of every device the judge changed and the rewards
     * due, each on its device's partition.
     */
    private void writeProofs() {
        ProofOfService j = judge;
        if (j == null) {
            return;
        }
        String service = KafkaTopics.service(fleet);
        for (var e : j.takeChanged().entrySet()) {
            Integer partition = partitionOf.get(e.getKey().value());
            producer.send(new ProducerRecord<>(service, partition, e.getKey().value(), e.getValue()));
        }
        String rewards = KafkaTopics.rewards(fleet);
        for (RewardDue d : dues) {
            producer.send(new ProducerRecord<>(rewards, partitionOf.get(d.device()), d.device(), d.encode()));
        }
        if (!dues.isEmpty()) {
            Logger.info("verifier {}: {} reward(s) due written", verifierId, dues.size());
        }
        dues.clear(); // in this transaction, or (it fails) gone with the judge that the rebuild replaces
    }

    /**
     * Commits what the judge changed while no report came (audits that lapsed, an epoch closed), with
     * the consumed offsets as they stand: they fence a verifier that is no longer of the group.
     */
    private void commitProofs() {
        if (!consumer.assignment().isEmpty()) {
            transact("proofs of service", positions(), () -> {});
        }
    }

    /**
     * One Kafka transaction: {@code writes}, then the judge's changed devices and the rewards due,
     * then {@code offsets} with the group's metadata (taken before it opens: fetching them can block).
     * False when it failed: aborted, and the consumer rewound to the committed offsets with the
     * chain state and the judge rebuilt.
     */
    private boolean transact(String what, Map<TopicPartition, OffsetAndMetadata> offsets, Runnable writes) {
        try {
            producer.beginTransaction();
            inTransaction = true;
            writes.run();
            writeProofs();
            producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
            producer.commitTransaction();
            inTransaction = false;
            transactions.increment();
            return true;
        } catch (ProducerFencedException e) {
            throw e;
        } catch (KafkaException e) {
            Logger.warn(
                    "a transaction of {} failed ({}); aborted, going back to the committed offsets",
                    what,
                    e.getMessage());
            try {
                producer.abortTransaction();
                inTransaction = false;
            } catch (KafkaException again) {
                throw e; // the producer is unusable: stop, and let the group hand the partitions on
            }
            rewind();
            return false;
        }
    }

    /**
     * The consumed offsets of every partition held as they stand: after a poll that returned nothing
     * or whose records are committed, the committed offsets (or past control records).
     */
    private Map<TopicPartition, OffsetAndMetadata> positions() {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition tp : consumer.assignment()) {
            offsets.put(tp, new OffsetAndMetadata(consumer.position(tp)));
        }
        return offsets;
    }

    private void count(Appraisal outcome) {
        if (outcome instanceof Appraisal.Accepted acc) {
            (acc.duplicate() ? duplicates : accepted).increment();
        } else {
            rejected.increment();
        }
    }

    /**
     * Starts appraising a poll's reports on the workers, each device's on one worker in order, and
     * making their receipts there.
     */
    private Pending appraise(ConsumerRecords<String, byte[]> records) {
        Appraiser a = appraiser;
        ProofOfService judging = judge;
        List<ConsumerRecord<String, byte[]>> all = new ArrayList<>(records.count());
        records.forEach(all::add);
        Decided[] out = new Decided[all.size()];
        int[][] lanes = new int[workers][all.size()];
        int[] sizes = new int[workers];
        for (int i = 0; i < all.size(); i++) {
            String key = all.get(i).key() == null ? "" : all.get(i).key();
            int w = Math.floorMod(key.hashCode(), workers);
            lanes[w][sizes[w]++] = i;
        }
        List<Future<?>> futures = new ArrayList<>(workers);
        for (int w = 0; w < workers; w++) {
            if (sizes[w] == 0) {
                continue;
            }
            int[] lane = lanes[w];
            int size = sizes[w];
            futures.add(pool.submit(() -> {
                for (int j = 0; j < size; j++) {
                    int i = lane[j];
                    out[i] = decide(a, judging, all.get(i));
                }
            }));
        }
        return new Pending(records, out, futures);
    }

    private Decided decide(Appraiser a, ProofOfService j, ConsumerRecord<String, byte[]> r) {
        Optional<DeviceId> device =
                r.key() != null && DeviceId.isValid(r.key()) ? Optional.of(new DeviceId(r.key())) : Optional.empty();
        Appraisal outcome = r.value() == null || device.isEmpty()
                ? new Appraisal.Rejected(
                        dev.prospector.attest.ReasonCode.MALFORMED,
                        "a record of the reports topic without a device id as its key, or without a value",
                        Optional.empty(),
                        java.util.OptionalLong.empty())
                : a.appraise(r.value(), device.get());
        Optional<ProofOfService> proofs = Optional.ofNullable(j);
        if (proofs.isPresent() && outcome instanceof Appraisal.Accepted acc) {
            partitionOf.put(acc.device().value(), r.partition()); // a device the appraiser tracks: bounded
        }
        Optional<ProofOfService.Verdict> verdict = VerifierService.judge(proofs, outcome, r.timestamp());
        Receipt receipt = receipts.isPresent() && device.isPresent()
                ? VerifierService.receipt(a.config(), proofs, device.get(), outcome, r.value(), verdict)
                : null;
        return new Decided(r, device, outcome, receipt);
    }

    /** After a failed transaction: back to the committed offsets, with the chain state rebuilt. */
    private void rewind() {
        Set<TopicPartition> mine = consumer.assignment();
        Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(mine);
        for (TopicPartition tp : mine) {
            OffsetAndMetadata o = committed.get(tp);
            if (o == null) {
                consumer.seekToBeginning(List.of(tp));
            } else {
                consumer.seek(tp, o.offset());
            }
        }
        rebuild(mine);
    }

    /**
     * A fresh appraiser with the chain state of {@code partitions} replayed from the chain topic:
     * per device, its accepted entries by report time and seq; and a fresh judge with its devices'
     * proof-of-service state from the service topic.
     */
    private void rebuild(Collection<TopicPartition> partitions) {
        Appraiser fresh = appraisers.get();
        dues.clear(); // the old judge's, never committed: the new one closes those epochs again
        readTo.clear(); // read again from the committed offsets
        partitionOf.clear();
        ProofOfService j = proofs.map(f -> f.apply(this::due)).orElse(null);
        Map<String, List<Appraiser.AcceptedEntry>> byDevice = new HashMap<>();
        Map<String, java.util.function.Consumer<ConsumerRecord<String, byte[]>>> readers = new HashMap<>();
        readers.put(
                KafkaTopics.chain(fleet),
                r -> Verdict.decodeEntry(r.value())
                        .ifPresent(e -> byDevice.computeIfAbsent(e.device().value(), k -> new ArrayList<>())
                                .add(e)));
        if (j != null) {
            // In offset order, so each device's last state wins.
            readers.put(KafkaTopics.service(fleet), r -> {
                if (r.key() == null || !DeviceId.isValid(r.key()) || r.value() == null) {
                    return;
                }
                try {
                    j.restore(new DeviceId(r.key()), r.value());
                    partitionOf.put(r.key(), r.partition());
                } catch (IllegalArgumentException e) {
                    Logger.warn(
                            "verifier {}: {}; the device's proofs of service start afresh", verifierId, e.getMessage());
                }
            });
        }
        readToEnd(partitions, readers);
        // Compaction keeps the last record per key; before it runs the same (device, seq) may be
        // there more than once: replay each once.
        Comparator<Appraiser.AcceptedEntry> order = Comparator.comparingLong(Appraiser.AcceptedEntry::iatMillis)
                .thenComparingLong(Appraiser.AcceptedEntry::seq);
        int entries = 0;
        for (List<Appraiser.AcceptedEntry> list : byDevice.values()) {
            list.sort(order);
            for (Appraiser.AcceptedEntry e : list) {
                fresh.restore(e);
                entries++;
            }
        }
        appraiser = fresh;
        judge = j;
        held = partitions.stream().map(TopicPartition::partition).collect(Collectors.toUnmodifiableSet());
        rebuilds.increment();
        Logger.info(
                "verifier {} holds partitions {}: chain state rebuilt from {} entries{}",
                verifierId,
                partitions.stream().map(TopicPartition::partition).sorted().toList(),
                entries,
                j == null ? "" : ", proofs of service of " + j.devices() + " device(s)");
    }

    /**
     * Hands each reader the committed records of its topic's partitions numbered as
     * {@code partitions}, in offset order, through one consumer, to their end: the high watermark,
     * not the last stable offset, so that a transaction still open on them (a verifier that lost
     * them, until it commits, aborts or times out) is waited for.
     */
    private void readToEnd(
            Collection<TopicPartition> partitions,
            Map<String, java.util.function.Consumer<ConsumerRecord<String, byte[]>>> readers) {
        List<TopicPartition> tps = readers.keySet().stream()
                .flatMap(topic -> partitions.stream().map(tp -> new TopicPartition(topic, tp.partition())))
                .toList();
        if (tps.isEmpty()) {
            return;
        }
        Properties c = KafkaClients.readCommitted(bootstrap, "prospector-verifier-" + verifierId + "-rebuild");
        Map<TopicPartition, Long> end;
        Properties u = new Properties();
        u.putAll(c);
        u.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
        u.put(ConsumerConfig.CLIENT_ID_CONFIG, "prospector-verifier-" + verifierId + "-rebuild-ends");
        try (KafkaConsumer<String, byte[]> ends = new KafkaConsumer<>(u)) {
            end = ends.endOffsets(tps);
        }
        try (KafkaConsumer<String, byte[]> reader = new KafkaConsumer<>(c)) {
            reader.assign(tps);
            reader.seekToBeginning(tps);
            Set<TopicPartition> left = new HashSet<>(tps);
            left.removeIf(tp -> reader.position(tp) >= end.get(tp));
            while (!left.isEmpty()) {
                for (ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(200))) {
                    readers.get(r.topic()).accept(r);
                }
                left.removeIf(tp -> reader.position(tp) >= end.get(tp));
            }
        }
    }

    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            // Nothing pending: every poll's transaction is committed before the next poll.
            release(partitions);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            // The committed offsets first: read_committed, their fetch waits for a transaction with
            // offsets pending on these partitions (KIP-447), as a verifier that lost them may have
            // left open; every transaction carries offsets for all the partitions its writer held.
            Set<TopicPartition> mine = consumer.assignment();
            mine.forEach(consumer::position);
            rebuild(mine);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            // Another verifier has them now; the next assignment rebuilds from the chain topic.
            release(partitions);
        }

        private void release(Collection<TopicPartition> partitions) {
            if (!partitions.isEmpty()) {
                judge = null; // it knows devices of partitions gone: idle until the next assignment's rebuild
            }
            Set<Integer> gone = new HashSet<>();
            partitions.forEach(tp -> gone.add(tp.partition()));
            held = held.stream().filter(p -> !gone.contains(p)).collect(Collectors.toUnmodifiableSet());
        }
    }

    /** Stops the loop (the current transaction commits or aborts first) and closes the clients. */
    @Override
    public void close() {
        stop.set(true);
        Thread t;
        synchronized (this) {
            t = loop;
        }
        if (t != null) {
            try {
                t.join(15_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                consumer.wakeup();
            }
        } else {
            consumer.close(Duration.ofSeconds(5));
            producer.close(Duration.ofSeconds(5));
        }
        pool.shutdownNow();
        // The committed polls' receipts still queued go out first (up to its wait).
        signer.ifPresent(ReceiptSigner::close);
    }
}
