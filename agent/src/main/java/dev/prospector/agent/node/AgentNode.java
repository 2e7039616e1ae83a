package dev.prospector.agent.node;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.outbox.OutboxJournal;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.ClockCheck;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.ReasonCode;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.ReportInput;
import dev.prospector.attest.ReportSigner;
import dev.prospector.attest.SignedReport;
import dev.prospector.hardware.Board;
import dev.prospector.hardware.BoardInfo;
import dev.prospector.hardware.io.BoardIo;
import dev.prospector.hardware.io.LedPattern;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.tinylog.Logger;

/**
 * The agent on a board: every interval it measures, signs a report, stores it in the outbox and
 * sends what the broker has not yet acknowledged.
 *
 * <h2>Delivery</h2>
 * A report is in the outbox journal (synced to disk) before it is published; it leaves the outbox
 * only when the broker acknowledges it (QoS 1 PUBACK). Publishing runs in seq order with at most
 * {@link #MAX_IN_FLIGHT} unacknowledged reports; after a reconnect everything still pending is sent
 * again in seq order. So every report is delivered at least once, and the verifier, which is
 * idempotent by (device, seq), counts it once. Measuring, signing and storing never wait for the
 * network: while the broker is away reports accumulate in the outbox (bounded, see
 * {@link OutboxJournal}).
 *
 * <h2>Threads</h2>
 * One scheduler thread measures and signs; Paho's threads complete publishes. {@link #pump()} is
 * called from both and guarded by the in-flight set.
 */
public final class AgentNode implements AutoCloseable {
    /** Reports published but not yet acknowledged, at most (below the receive maximum of common brokers: Mosquitto 20, HiveMQ 10). */
    static final int MAX_IN_FLIGHT = 8;

    private final String fleet;
    private final Board board;
    private final DeviceKeys keys;
    private final ReportSigner signer;
    private final ChainState chain;
    private final ReportFactory factory;
    private final OutboxJournal outbox;
    private final MqttLink link;
    private final Duration interval;
    private final String configHashHex;
    private final Clock clock;
    private final Optional<LedgerService> ledger;
    private final ScheduledExecutorService scheduler;
    private final Set<Long> inFlight = ConcurrentHashMap.newKeySet();
    private volatile Optional<BoardIo> io = Optional.empty();
    /** When each in-flight report was published (local clock), to time its receipt. */
    private final Map<Long, Published> publishedAt = new ConcurrentHashMap<>();

    /** A report we published: when (local clock) and its SHA-256, which its receipt must name. */
    private record Published(Instant at, byte[] hash) {}
    private volatile Optional<ClockCheck> clockCheck = Optional.empty();
    private volatile Optional<HeldChallenge> challenge = Optional.empty();
    private volatile boolean clockWarned;
    private volatile ScheduledExecutorService ioTicks;
    private final AtomicLong made = new AtomicLong();
    private final AtomicLong sent = new AtomicLong();
    private volatile boolean closed;

    /**
     * @param link a link built with {@link #will(String, String)} as its last will and this
     *     node's {@link #listener()}; see {@link AgentWiring}
     */
    public AgentNode(String fleet, Board board, DeviceKeys keys, ChainState chain, ReportSigner signer, ReportFactory factory,
            OutboxJournal outbox, MqttLinkFactory link, Duration interval, byte[] configHash, Clock clock,
            Optional<LedgerService> ledger) {
        this.fleet = fleet;
        this.board = board;
        this.keys = keys;
        this.signer = signer;
        this.chain = chain;
        this.factory = factory;
        this.outbox = outbox;
        this.interval = interval;
        this.configHashHex = HexFormat.of().formatHex(configHash);
        this.clock = clock;
        this.ledger = ledger;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "agent-" + keys.deviceId());
            t.setDaemon(true);
            return t;
        });
        this.link = link.create(Optional.of(new MqttLink.Will(Topics.state(fleet, device()), offline(), true)),
                new MqttLink.AcknowledgingListener() {
                    @Override
                    public void onMessage(String topic, byte[] payload, Runnable ack) {
                        if (topic.equals(Topics.receipt(fleet, device()))) {
                            onReceipt(payload);
                            ack.run();
                        } else if (AgentNode.this.ledger.isPresent() && topic.equals(AgentNode.this.ledger.get().blockTopic())) {
                            AgentNode.this.ledger.get().onBlock(payload,
                                    (t, bytes) -> AgentNode.this.link.publish(t, bytes, 1, false), ack);
                        } else {
                            ack.run();
                        }
                    }

                    @Override
                    public void onConnected() {
                        led(LedPattern.CONNECTED);
                        publishBirth();
                        inFlight.clear();
                        scheduler.execute(AgentNode.this::pump);
                    }

                    @Override
                    public void onConnectionLost(String reason) {
                        inFlight.clear();
                        led(LedPattern.ERROR);
                    }
                });
        this.link.subscribe(Topics.receipt(fleet, device()), 1);
        ledger.ifPresent(l -> this.link.subscribe(l.blockTopic(), 1));
    }

    /** Builds the node's link once the will and listener are known. */
    @FunctionalInterface
    public interface MqttLinkFactory {
        MqttLink create(Optional<MqttLink.Will> will, MqttLink.Listener listener);
    }

    public String device() {
        return keys.deviceId().value();
    }

    /** Connects in the background and reports every interval, the first one now. */
    public void start() {
        int recovered = outbox.pendingCount();
        if (recovered > 0) {
            Logger.info("outbox holds {} report(s) not yet acknowledged; sending them first", recovered);
        }
        link.start();
        scheduler.scheduleAtFixedRate(this::reportSafely, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Connects the status LED and button (see AgentWiring); the node closes them. */
    void attach(BoardIo boardIo, ScheduledExecutorService ticks) {
        this.io = Optional.of(boardIo);
        this.ioTicks = ticks;
        led(LedPattern.STARTING);
    }

    /**
     * The verifier's word on one of our reports: a rejection is logged with its reason, and the
     * receipt's time tells whether our clock is off by more than the verifier's window (reports
     * would then be refused as stale), which is said once, loudly, until it is fixed.
     */
    void onReceipt(byte[] payload) {
        Receipt receipt;
        try {
            // Receipts are signed by the verifier (COSE_Sign1). Checking the signature against a
            // trusted verifier key (--verifier-key) is the board side's to add; until then, read it.
            receipt = Receipt.decode(dev.prospector.attest.CoseSign1.decode(payload).payload());
        } catch (MalformedReportException e) {
            Logger.debug("ignored a receipt that does not decode: {}", e.getMessage());
            return;
        }
        if (!receipt.ok()) {
            Logger.warn("the verifier rejected report seq {}: {}: {}", receipt.seq().isPresent() ? receipt.seq().getAsLong() : "?",
                    receipt.reason().map(ReasonCode::code).orElse("?"), receipt.detail());
        }
        if (receipt.seq().isEmpty()) {
            return;
        }
        Published sent = publishedAt.remove(receipt.seq().getAsLong());
        if (sent == null || !java.security.MessageDigest.isEqual(sent.hash(), receipt.reportHash())) {
            return; // not about a report we sent lately (a late or foreign receipt): no clock check, no challenge
        }
        // The challenge's issue time is the receipt's `at`, on the verifier's clock.
        receipt.challenge().ifPresent(c -> challenge = Optional.of(new HeldChallenge(c.nonce(), c.ttl(), receipt.at())));
        ClockCheck check = ClockCheck.of(receipt, sent.at(), clock.instant());
        clockCheck = Optional.of(check);
        if (check.outsideWindow() && !clockWarned) {
            clockWarned = true;
            Logger.warn("{}", check.describe());
            led(LedPattern.ERROR);
        } else if (!check.outsideWindow() && clockWarned) {
            clockWarned = false;
            Logger.info("{}", check.describe());
        }
    }

    /** The latest challenge from the receipts of our own reports, and when the verifier issued it (its clock). */
    private record HeldChallenge(byte[] nonce, Duration ttl, Instant issued) {}

    /** Kept off each end of a challenge's window, for rounding and the moment between making and signing. */
    static final Duration CHALLENGE_MARGIN = Duration.ofSeconds(30);

    /**
     * The challenge the next report answers: the latest one, while the report's time (our clock)
     * lies within its lifetime of the issue time (the verifier's clock), less a margin. That is the
     * test the verifier applies, so a report never carries a nonce it would refuse, however far our
     * clock is off; none before the first receipt.
     */
    Optional<byte[]> nonce() {
        Instant now = clock.instant();
        return challenge.filter(c -> {
            Duration age = Duration.between(c.issued(), now);
            Duration limit = c.ttl().minus(CHALLENGE_MARGIN);
            return age.compareTo(limit) <= 0 && age.negated().compareTo(limit) <= 0;
        }).map(HeldChallenge::nonce);
    }

    /** The last clock check against the verifier's receipts, once one has arrived. */
    public Optional<ClockCheck> clockCheck() {
        return clockCheck;
    }

    /** The status LED and button, when the board has them. */
    public Optional<BoardIo> boardIo() {
        return io;
    }

    /** Makes a report as soon as the scheduler is free (the button's short press). */
    public void reportSoon() {
        try {
            scheduler.execute(this::reportSafely);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            Logger.debug("not reporting: the agent is stopping");
        }
    }

    private void led(LedPattern pattern) {
        io.flatMap(BoardIo::led).ifPresent(l -> l.show(pattern));
    }

    /** Stops making reports (the outbox keeps sending what it has until {@link #close()}). */
    public void stopReporting() {
        scheduler.shutdown();
    }

    /** Measures, signs and stores one report now; returns it. */
    public SignedReport reportNow() {
        // The outbox append is durable before the chain advances. If the chain state could not be
        // written afterwards (a crash, a full disk), the outbox is ahead: catch the chain up first,
        // so no report is lost and no seq is used twice.
        outbox.lastAppended().ifPresent(last -> chain.recover(last.seq(), last.sha256()));
        ReportInput input = factory.input(board.measure(), nonce(), outbox.losses().count());
        SignedReport report = signer.sign(input, r -> outbox.append(r.claims().seq(), r.bytes()));
        made.incrementAndGet();
        Logger.debug("report seq {} made ({} bytes)", report.claims().seq(), report.bytes().length);
        pump();
        return report;
    }

    public NodeStats stats() {
        return new NodeStats(made.get(), sent.get(), outbox.pendingCount(), outbox.losses().count(), link.isConnected());
    }

    public OutboxJournal outbox() {
        return outbox;
    }

    private void reportSafely() {
        if (closed) {
            return;
        }
        try {
            reportNow();
            io.flatMap(BoardIo::led).ifPresent(l -> l.showFor(LedPattern.REPORTING, Duration.ofSeconds(1)));
        } catch (RuntimeException e) {
            led(LedPattern.ERROR);
            // A failed cycle must never end the schedule; the next one tries again.
            Logger.error("report cycle failed: {}", e.getMessage() == null ? e.toString() : e.getMessage());
            Logger.debug(e);
        }
    }

    /**
     * Publishes pending reports in seq order, keeping at most MAX_IN_FLIGHT unacknowledged.
     * Synchronized so that calls from the scheduler and from Paho's threads never interleave their
     * publishes out of order; publishing only queues, so the lock is held briefly.
     */
    synchronized void pump() {
        if (closed || !link.isConnected()) {
            return;
        }
        String topic = Topics.report(fleet, device());
        // In-flight reports are among the oldest pending ones, so the first 2 x MAX_IN_FLIGHT hold
        // every report this call may send: no copy of a long backlog per acknowledgement.
        for (OutboxJournal.Entry entry : outbox.pending(2 * MAX_IN_FLIGHT)) {
            if (inFlight.size() >= MAX_IN_FLIGHT) {
                return;
            }
            if (!inFlight.add(entry.seq())) {
                continue;
            }
            long seq = entry.seq();
            publishedAt.put(seq, new Published(clock.instant(), sha256(entry.report())));
            link.publish(topic, entry.report(), 1, false).whenComplete((ok, failure) -> {
                if (failure == null) {
                    outbox.acknowledge(seq);
                    if (publishedAt.size() > 4 * MAX_IN_FLIGHT) {
                        // Receipts that never came (no verifier): keep only recent send times.
                        publishedAt.keySet().removeIf(s -> s < seq - 2L * MAX_IN_FLIGHT);
                    }
                    sent.incrementAndGet();
                    inFlight.remove(seq);
                    pump();
                } else {
                    // Not acknowledged: stays in the outbox and is sent again after reconnecting.
                    inFlight.remove(seq);
                    Logger.debug("report seq {} not acknowledged: {}", seq, failure.getMessage());
                }
            });
        }
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every JDK", e);
        }
    }

    private void publishBirth() {
        BoardInfo info = board.info();
        CBORObject state = CBORObject.NewOrderedMap()
                .Add("online", true)
                .Add("device", device())
                .Add("version", dev.prospector.agent.cli.Version.current())
                .Add("board", info.kind())
                .Add("model", info.model())
                .Add("key", Base64.getEncoder().encodeToString(keys.publicKey()))
                .Add("config", configHashHex)
                .Add("time", clock.instant().toString());
        link.publish(Topics.state(fleet, device()), state.ToJSONString().getBytes(StandardCharsets.UTF_8), 1, true);
    }

    private byte[] offline() {
        return CBORObject.NewOrderedMap().Add("online", false).Add("device", device())
                .ToJSONString().getBytes(StandardCharsets.UTF_8);
    }

    /** Publishes the offline state (a clean shutdown sends no last will) and disconnects. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        scheduler.shutdownNow();
        try {
            if (link.isConnected()) {
                link.publish(Topics.state(fleet, device()), offline(), 1, true).get(2, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            Logger.debug("offline state not published: {}", e.toString());
        }
        link.close();
        ledger.ifPresent(LedgerService::close);
        io.ifPresent(BoardIo::close);
        if (ioTicks != null) {
            ioTicks.shutdownNow();
        }
        outbox.close();
        board.close();
    }
}
