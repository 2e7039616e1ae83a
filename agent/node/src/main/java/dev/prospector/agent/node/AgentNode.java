package dev.prospector.agent.node;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.outbox.OutboxJournal;
import dev.prospector.agent.pos.BandwidthProbe;
import dev.prospector.agent.pos.PlotStore;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.AuditAnswer;
import dev.prospector.attest.ChainState;
import dev.prospector.attest.ClockCheck;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Limits;
import dev.prospector.attest.ReasonCode;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.ReportInput;
import dev.prospector.attest.ReportSigner;
import dev.prospector.attest.ServiceEvidence;
import dev.prospector.attest.Sha256;
import dev.prospector.attest.SignedReport;
import dev.prospector.hardware.Board;
import dev.prospector.hardware.Snapshot;
import dev.prospector.hardware.board.BoardInfo;
import dev.prospector.hardware.io.BoardIo;
import dev.prospector.hardware.io.LedPattern;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.tinylog.Logger;

/**
 * The agent on a board: every interval it measures, signs a report, stores it in the outbox and
 * sends what is not yet delivered.
 *
 * <h2>Delivery: end to end</h2>
 * A report is in the outbox journal (synced to disk) before it is published. With trusted verifier
 * keys ({@link TrustedVerifiers}) it leaves the outbox only when a receipt signed by one of them
 * names it (by the SHA-256 of its bytes): accepted, a duplicate of one accepted, or refused for a
 * reason that sending again cannot change. The broker's PUBACK only says the broker has it — a
 * broker may still lose it (a full queue, a session taken over, a restart without persistence) —
 * so a report without its receipt is sent again after {@code receiptTimeout}, doubling up to
 * {@link #MAX_RESEND_INTERVAL}, and at once after a lost connection. The verifier is idempotent by
 * (device, seq) and answers a copy with the same receipt, so every report is counted once.
 * Without a trusted verifier key the broker's PUBACK is taken as delivery (and logged as such at
 * start), and receipts are ignored: an unsigned receipt could come from anyone.
 *
 * <p>Publishing runs in append order with at most {@link #MAX_IN_FLIGHT} reports awaiting their
 * receipt: while the verifier is away the board re-sends a few reports, not its whole backlog, and
 * the rest waits on disk (bounded, see {@link OutboxJournal}). Measuring, signing and storing never
 * wait for the network.
 *
 * <p>The window of seqs: a report is never sent while a report {@link Limits#DUPLICATE_WINDOW} or
 * more seqs older is still in the outbox. The verifier refuses, as a replay, a report that many
 * seqs behind the newest it accepted, so a report the broker lost (a restart without persistence)
 * and re-sent after 32 newer ones were accepted would be refused, never accepted, and its proof
 * lost. The outbox's oldest report is the oldest one not yet done: done means its receipt came
 * (accepted, a duplicate, or refused for good: a refused report leaves the outbox and never holds
 * the window), or, without a trusted verifier key, its PUBACK. A report refused for a reason that
 * may pass ({@code TRANSIENT}) stays, and holds the newer ones back until it is through. The
 * seqs of one chain only: a report of a newer chain (lower seqs) is not held back by an old one.
 *
 * <h2>Receipts</h2>
 * A receipt counts only if it verifies under a trusted key and names a report this board has in
 * flight. Only such a receipt's challenge is answered and only its time is used for the clock
 * check. Anything else is counted ({@link NodeStats#receiptsRefused()}) and logged at debug level
 * only, so that a flood of forgeries cannot fill the journal.
 *
 * <h2>Proofs of service</h2>
 * Every report carries claim {@code pos}: {@code run} (the boot's monotonic {@code up} of the first
 * report of this run) and, once the {@link PlotStore} finished plotting, the plot's commitment. A
 * trusted receipt whose challenge asks for a storage audit makes the node report at once, and that
 * report carries the challenge's own nonce (not merely the latest one held) with the audit's
 * answer. The duty is set before the challenge is held, and a report reads the challenge before
 * the duty, so no report can carry an audited nonce without its answer. A challenge that asks for
 * a bandwidth test starts the {@link BandwidthProbe} on the probe thread (one test at a time;
 * another asked meanwhile is skipped); its receipts go out at once in a report with that
 * challenge's nonce. An audit or test whose challenge is past its lifetime by our clock is dropped
 * (the verifier would refuse the nonce, and the report with it).
 *
 * <h2>Threads</h2>
 * The scheduler thread measures and signs, and answers audits (a few leaf reads). One delivery
 * thread runs {@link #pump()}; Paho's threads deliver PUBACKs and receipts, which update the
 * in-flight table under this node's lock and then ask the delivery thread to pump again
 * ({@link #kick()}), never pumping themselves: so a PUBACK can never race a pump that read the
 * outbox just before it (which once published a report twice on a slow board). Bandwidth tests run
 * on the probe thread, plotting on the plot store's own low-priority thread: neither ever holds up
 * a report or a delivery.
 */
public final class AgentNode implements AutoCloseable {
    /**
     * Reports published but not yet confirmed delivered, at most (below the receive maximum of
     * common brokers: Mosquitto 20, HiveMQ 10).
     */
    static final int MAX_IN_FLIGHT = 8;
    /**
     * How far a report's seq may be ahead of the outbox's oldest report's and still be sent: the
     * verifier's replay window (see the design note on the window of seqs).
     */
    static final int SEQ_WINDOW = Limits.DUPLICATE_WINDOW;
    /** Longest wait before a report without its receipt is sent again. */
    static final Duration MAX_RESEND_INTERVAL = Duration.ofMinutes(10);
    /** How often the delivery thread looks for reports whose receipt is overdue. */
    static final Duration RESEND_TICK = Duration.ofMillis(500);

    /** How long {@link #stopReporting} waits for a report being made (or an audit being answered). */
    static final Duration STOP_REPORTING_WAIT = Duration.ofSeconds(30);
    /** Default time to wait for a report's receipt before sending it again. */
    public static final Duration DEFAULT_RECEIPT_TIMEOUT = Duration.ofSeconds(30);
    /**
     * Rejections that may go away if the same report is sent again later (the verifier's own fault,
     * or too many new devices at once): the report stays in the outbox and is sent again.
     */
    private static final Set<ReasonCode> TRANSIENT = EnumSet.of(ReasonCode.VERIFIER_ERROR, ReasonCode.RATE_LIMITED);

    private final String fleet;
    private final Board board;
    private final DeviceKeys keys;
    private final ReportSigner signer;
    private final ChainState chain;
    private final ReportFactory factory;
    private final OutboxJournal outbox;
    private final MqttLink link;
    private volatile Duration interval;
    private final String configHashHex;
    private final Clock clock;
    private final Optional<LedgerService> ledger;
    private volatile TrustedVerifiers verifiers;
    private volatile Duration receiptTimeout;

    @GuardedBy("this")
    private java.util.concurrent.ScheduledFuture<?> reportTask;

    @GuardedBy("this")
    private java.util.concurrent.ScheduledFuture<?> resendTask;

    private final ScheduledExecutorService scheduler;
    private final ScheduledExecutorService delivery;
    private final ExecutorService probing;
    private final PlotStore plot;
    private final BandwidthProbe probe;
    private final AtomicBoolean probeRunning = new AtomicBoolean();
    /** An audit to answer in the next report, set before its challenge is held (see the design note). */
    private final AtomicReference<AuditDuty> auditDue = new AtomicReference<>();
    /** Bandwidth receipts to send in the next report. */
    private final AtomicReference<BandwidthDuty> bandwidthDue = new AtomicReference<>();
    /** The {@code up} of this run's first report, in ms; -1 before it. */
    private final AtomicLong runStart = new AtomicLong(-1);

    private final AtomicLong auditsAnswered = new AtomicLong();
    private final AtomicLong bandwidthTests = new AtomicLong();
    private final AtomicBoolean pumpQueued = new AtomicBoolean();
    /** Times a pump held a report back for the window of seqs (see the design note). */
    private final AtomicLong heldBack = new AtomicLong();
    /** Reports sent and awaiting delivery, by outbox id. */
    @GuardedBy("this")
    private final Map<Long, InFlight> inFlight = new HashMap<>();
    /** The outbox id of each in-flight report, by its SHA-256 (what a receipt names). */
    @GuardedBy("this")
    private final Map<ByteBuffer, Long> idByHash = new HashMap<>();

    private volatile Optional<BoardIo> io = Optional.empty();
    private volatile Optional<ClockCheck> clockCheck = Optional.empty();
    private volatile Optional<HeldChallenge> challenge = Optional.empty();
    private volatile Optional<Receipt> lastReceipt = Optional.empty();
    private volatile boolean clockWarned;
    private volatile ScheduledExecutorService ioTicks;
    private final AtomicLong made = new AtomicLong();
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicLong publishes = new AtomicLong();
    private final AtomicLong receiptsRefused = new AtomicLong();
    private final AtomicLong receiptsUnmatched = new AtomicLong();
    private volatile boolean closed;
    /** Told of reports made, receipts that counted, connections and measurements (the dashboard); never blocks. */
    private volatile NodeObserver observer = NodeObserver.NONE;
    /** Slack on top of two report intervals before the node counts as stuck (slow SD card, GC on a small board). */
    static final Duration PROGRESS_SLACK = Duration.ofSeconds(30);

    /**
     * Test hook (the watchdog's integration test): when the file this system property names exists,
     * the next report cycle deletes it and then blocks until the node closes, as a cycle stuck in a
     * dead SD card's fsync would, so that {@link #makingProgress()} turns false while the JVM and the
     * delivery thread run on. Unset in production: then nothing is checked.
     */
    public static final String HANG_TRIGGER_PROPERTY = "prospector.test.hang-report-when";

    private static final Optional<java.nio.file.Path> HANG_TRIGGER =
            Optional.ofNullable(System.getProperty(HANG_TRIGGER_PROPERTY)).map(java.nio.file.Path::of);

    private volatile long lastCycleNanos = System.nanoTime();
    private volatile long lastPumpNanos = System.nanoTime();
    /** Held while the node runs; released last by {@link #close()}. */
    private final AutoCloseable dataDirLock;

    /**
     * A report on its way: its seq and hash, when it was last published (local clock; null: send
     * now), how often. Its mutable fields are read and written under the node's lock only.
     */
    private static final class InFlight {
        final long seq;
        final byte[] hash;
        Instant sentAt;
        int attempts;
        boolean publishing;
        boolean atBroker;

        InFlight(long seq, byte[] hash) {
            this.seq = seq;
            this.hash = hash;
        }
    }

    /**
     * The node's threads, each a single thread the node owns from construction and shuts down on
     * {@link #close()}: {@code reports} measures and signs, {@code delivery} pumps the outbox,
     * {@code probe} runs bandwidth tests. Passed in so that the wiring names them and tests could
     * drive them.
     */
    public record Threads(ScheduledExecutorService reports, ScheduledExecutorService delivery, ExecutorService probe) {
        /** Report and delivery threads as given, a probe thread of its own. */
        public Threads(ScheduledExecutorService reports, ScheduledExecutorService delivery) {
            this(reports, delivery, Executors.newSingleThreadExecutor(r -> daemon(r, "probe")));
        }

        /** Three daemon threads named after the device. */
        public static Threads forDevice(String device) {
            return new Threads(
                    Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "agent-" + device)),
                    Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "outbox-" + device)),
                    Executors.newSingleThreadExecutor(r -> daemon(r, "probe-" + device)));
        }
    }

    /** The parts of a node, built by {@link AgentWiring}. */
    public record Parts(
            String fleet,
            Board board,
            DeviceKeys keys,
            ChainState chain,
            ReportSigner signer,
            ReportFactory factory,
            OutboxJournal outbox,
            Duration interval,
            byte[] configHash,
            Clock clock,
            Optional<LedgerService> ledger,
            TrustedVerifiers verifiers,
            Duration receiptTimeout,
            AutoCloseable dataDirLock,
            Threads threads,
            PlotStore plot,
            BandwidthProbe probe) {
        /** A node without proofs of service: no plot, no bandwidth test. */
        public Parts(
                String fleet,
                Board board,
                DeviceKeys keys,
                ChainState chain,
                ReportSigner signer,
                ReportFactory factory,
                OutboxJournal outbox,
                Duration interval,
                byte[] configHash,
                Clock clock,
                Optional<LedgerService> ledger,
                TrustedVerifiers verifiers,
                Duration receiptTimeout,
                AutoCloseable dataDirLock,
                Threads threads) {
            this(
                    fleet,
                    board,
                    keys,
                    chain,
                    signer,
                    factory,
                    outbox,
                    interval,
                    configHash,
                    clock,
                    ledger,
                    verifiers,
                    receiptTimeout,
                    dataDirLock,
                    threads,
                    PlotStore.none(),
                    BandwidthProbe.none());
        }

        /** These parts with another plot store (tests give a node one that cheats). */
        public Parts withPlot(PlotStore p) {
            return new Parts(
                    fleet,
                    board,
                    keys,
                    chain,
                    signer,
                    factory,
                    outbox,
                    interval,
                    configHash,
                    clock,
                    ledger,
                    verifiers,
                    receiptTimeout,
                    dataDirLock,
                    threads,
                    p,
                    probe);
        }

        /** These parts with another bandwidth probe. */
        public Parts withProbe(BandwidthProbe p) {
            return new Parts(
                    fleet,
                    board,
                    keys,
                    chain,
                    signer,
                    factory,
                    outbox,
                    interval,
                    configHash,
                    clock,
                    ledger,
                    verifiers,
                    receiptTimeout,
                    dataDirLock,
                    threads,
                    plot,
                    p);
        }
    }

    /**
     * @param link builds the node's link given its last will and listener; see {@link AgentWiring}
     */
    public AgentNode(Parts parts, MqttLinkFactory link) {
        this.fleet = parts.fleet();
        this.board = parts.board();
        this.keys = parts.keys();
        this.signer = parts.signer();
        this.chain = parts.chain();
        this.factory = parts.factory();
        this.outbox = parts.outbox();
        this.interval = parts.interval();
        this.configHashHex = HexFormat.of().formatHex(parts.configHash());
        this.clock = parts.clock();
        this.ledger = parts.ledger();
        this.verifiers = parts.verifiers();
        this.receiptTimeout = parts.receiptTimeout();
        this.dataDirLock = parts.dataDirLock();
        this.scheduler = parts.threads().reports();
        this.delivery = parts.threads().delivery();
        this.probing = parts.threads().probe();
        this.plot = parts.plot();
        this.probe = parts.probe();
        this.link = link.create(
                Optional.of(new MqttLink.Will(Topics.state(fleet, device()), offline(), true)),
                new MqttLink.AcknowledgingListener() {
                    @Override
                    public void onMessage(String topic, byte[] payload, MqttLink.Reply reply, Runnable ack) {
                        Route route = routes.get(topic);
                        if (route == null) {
                            onMessage(topic, payload, ack);
                        } else {
                            try {
                                route.onMessage(topic, payload, reply);
                            } finally {
                                ack.run(); // a route hands work to its own thread; never kept by the broker
                            }
                        }
                    }

                    @Override
                    public void onMessage(String topic, byte[] payload, Runnable ack) {
                        // Every message is acknowledged whatever it holds: nothing a publisher sends
                        // can stay in the board's persistent session and come back after a restart.
                        if (topic.equals(Topics.receipt(fleet, device()))) {
                            onReceipt(payload);
                            ack.run();
                        } else if (ledger.isPresent()
                                && topic.equals(ledger.get().blockTopic())) {
                            ledger.get()
                                    .onBlock(
                                            payload,
                                            (t, bytes) -> AgentNode.this.link.publish(t, bytes, 1, false),
                                            ack);
                        } else {
                            ack.run();
                        }
                    }

                    @Override
                    public void onConnected() {
                        observer.connected();
                        led(LedPattern.CONNECTED);
                        publishBirth();
                        connectHooks.forEach(Runnable::run);
                        // Not resendAllNow(): the link is connected (and the delivery thread may have
                        // published, even had the PUBACK) before this runs, after its subscriptions;
                        // marking those due again sent them twice (SlowBoardDemoIT, -Xint). Reports
                        // in flight over a lost connection were marked due when it was lost.
                        kick();
                    }

                    @Override
                    public void onConnectionLost(String reason) {
                        resendAllNow();
                        led(LedPattern.ERROR);
                    }
                });
        this.link.subscribe(Topics.receipt(fleet, device()), 1);
        ledger.ifPresent(l -> this.link.subscribe(l.blockTopic(), 1));
    }

    /** Messages on extra topics (the fleet commands); called on Paho's thread, must not block. */
    @FunctionalInterface
    public interface Route {
        void onMessage(String topic, byte[] payload, MqttLink.Reply reply);
    }

    private final Map<String, Route> routes = new java.util.concurrent.ConcurrentHashMap<>();
    private final List<Runnable> connectHooks = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** Runs {@code hook} (on Paho's thread: it must not block) after every connect, after the birth message. */
    public void onConnect(Runnable hook) {
        connectHooks.add(hook);
    }

    /** Subscribes this node's link to {@code topic} (exact, no wildcard) and hands its messages to {@code route}. */
    public void route(String topic, Route route) {
        if (routes.putIfAbsent(topic, route) == null) {
            link.subscribe(topic, 1);
        }
    }

    /** Publishes on this node's link (fleet command results); see {@link MqttLink#publish}. */
    public java.util.concurrent.CompletableFuture<Void> publish(
            String topic, byte[] payload, boolean retained, Optional<byte[]> correlationData) {
        return link.publish(topic, payload, 1, retained, correlationData);
    }

    /** True while the broker connection is up. */
    public boolean connected() {
        return link.isConnected();
    }

    /** The device's keys (what signs its reports and command results). */
    public DeviceKeys keys() {
        return keys;
    }

    /** The fleet this node reports in. */
    public String fleet() {
        return fleet;
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
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
            Logger.info("outbox holds {} report(s) not yet delivered; sending them first", recovered);
        }
        announceDelivery();
        lastCycleNanos = System.nanoTime();
        lastPumpNanos = lastCycleNanos;
        link.start();
        synchronized (this) {
            reportTask =
                    scheduler.scheduleAtFixedRate(this::reportSafely, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
            resendTask = delivery.scheduleWithFixedDelay(
                    this::pump, RESEND_TICK.toMillis(), RESEND_TICK.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void announceDelivery() {
        if (verifiers.isEmpty()) {
            Logger.warn(
                    "no trusted verifier key (--verifier-key): receipts are ignored, a report counts as delivered once the broker has it, and challenges are not answered");
        } else {
            Logger.info("reports leave the outbox when a receipt signed by {} names them", verifiers);
        }
    }

    /**
     * Applies what may change while the agent runs (a configuration reload): the trusted verifier
     * keys, the receipt timeout and the report interval. Reports in flight keep their place; with
     * no trusted key any more, the broker's acknowledgement counts again from the next publish.
     */
    public void reconfigure(AgentWiring.RunSettings next) {
        TrustedVerifiers loaded;
        try {
            loaded = TrustedVerifiers.load(next.verifierKeys());
        } catch (dev.prospector.attest.KeyCustodyException | IllegalArgumentException e) {
            throw new dev.prospector.agent.common.Failure("--verifier-key: " + e.getMessage());
        }
        boolean delivery = loaded.isEmpty() != verifiers.isEmpty();
        verifiers = loaded;
        receiptTimeout = next.receiptTimeout();
        if (delivery) {
            announceDelivery();
        }
        synchronized (this) {
            if (!next.interval().equals(interval) && reportTask != null && !closed) {
                interval = next.interval();
                reportTask.cancel(false);
                reportTask = scheduler.scheduleAtFixedRate(
                        this::reportSafely, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
            }
        }
        kick();
    }

    /** Connects the status LED and button (see AgentWiring); the node closes them. */
    void attach(BoardIo boardIo, ScheduledExecutorService ticks) {
        this.io = Optional.of(boardIo);
        this.ioTicks = ticks;
        led(LedPattern.STARTING);
    }

    /**
     * A message on our receipt topic. It counts only if a trusted verifier signed it and it names a
     * report we have in flight; then its outcome decides the report's fate, its challenge is kept
     * for the next reports, and its time checks our clock.
     */
    void onReceipt(byte[] payload) {
        Optional<Receipt> verified = verifiers.verify(payload);
        if (verified.isEmpty()) {
            long n = receiptsRefused.incrementAndGet();
            Logger.debug(
                    "ignored a message on the receipt topic that is not a receipt signed by a trusted verifier ({} so far)",
                    n);
            return;
        }
        Receipt receipt = verified.get();
        Instant now = clock.instant();
        InFlight f;
        long id;
        Instant sentAt;
        synchronized (this) {
            Long found = idByHash.get(ByteBuffer.wrap(receipt.reportHash()));
            f = found == null ? null : inFlight.get(found);
            if (f == null || (receipt.seq().isPresent() && receipt.seq().getAsLong() != f.seq)) {
                receiptsUnmatched.incrementAndGet();
                Logger.debug("a receipt for a report no longer in flight (a copy's answer, or late)");
                return;
            }
            id = found;
            sentAt = f.sentAt != null ? f.sentAt : now;
            boolean transientRejection =
                    !receipt.ok() && receipt.reason().map(TRANSIENT::contains).orElse(false);
            if (transientRejection) {
                f.sentAt = now; // try again after the timeout
            } else {
                outbox.acknowledge(id);
                inFlight.remove(id);
                idByHash.remove(ByteBuffer.wrap(f.hash));
                (receipt.ok() ? delivered : rejected).incrementAndGet();
            }
        }
        lastReceipt = Optional.of(receipt);
        observer.receipt(f.seq, receipt, now);
        if (!receipt.ok()) {
            Logger.warn(
                    "the verifier rejected report seq {}: {}: {}",
                    f.seq,
                    receipt.reason().map(ReasonCode::code).orElse("?"),
                    receipt.detail());
        }
        // The challenge's issue time is the receipt's `at`, on the verifier's clock.
        receipt.challenge().ifPresent(c -> {
            HeldChallenge held = new HeldChallenge(c.nonce(), c.ttl(), receipt.at());
            if (c.auditLeaves() > 0) {
                auditDue.set(new AuditDuty(held, c.auditLeaves())); // before the challenge is held
            }
            challenge = Optional.of(held);
            if (c.auditLeaves() > 0) {
                reportSoon();
            }
            if (c.bandwidthTest()) {
                startBandwidthTest(held);
            }
        });
        ClockCheck check = ClockCheck.of(receipt, sentAt, now);
        clockCheck = Optional.of(check);
        if (check.outsideWindow() && !clockWarned) {
            clockWarned = true;
            Logger.warn("{}", check.describe());
            led(LedPattern.ERROR);
        } else if (!check.outsideWindow() && clockWarned) {
            clockWarned = false;
            Logger.info("{}", check.describe());
        }
        kick();
    }

    /** The latest challenge from the receipts of our own reports, and when the verifier issued it (its clock). */
    private record HeldChallenge(byte[] nonce, Duration ttl, Instant issued) {}

    /** A storage audit of {@code leaves} leaves that the report with {@code challenge}'s nonce answers. */
    private record AuditDuty(HeldChallenge challenge, int leaves) {}

    /** Bandwidth receipts for {@code challenge}, to go out in a report with its nonce. */
    private record BandwidthDuty(HeldChallenge challenge, List<byte[]> receipts) {}

    /** Kept off each end of a challenge's window, for rounding and the moment between making and signing. */
    static final Duration CHALLENGE_MARGIN = Duration.ofSeconds(30);

    /**
     * The challenge the next report answers: the latest one, while the report's time (our clock)
     * lies within its lifetime of the issue time (the verifier's clock), less a margin. That is the
     * test the verifier applies, so a report never carries a nonce it would refuse, however far our
     * clock is off; none before the first receipt.
     */
    Optional<byte[]> nonce() {
        return challenge.filter(this::usable).map(HeldChallenge::nonce);
    }

    /** Whether a report made now may carry {@code c}'s nonce (see {@link #nonce()}). */
    private boolean usable(HeldChallenge c) {
        Duration age = Duration.between(c.issued(), clock.instant());
        Duration limit = c.ttl().minus(CHALLENGE_MARGIN);
        return age.compareTo(limit) <= 0 && age.negated().compareTo(limit) <= 0;
    }

    /**
     * Starts a bandwidth test for {@code held} on the probe thread, unless one runs; its receipts
     * go out in a report made at once.
     */
    private void startBandwidthTest(HeldChallenge held) {
        if (!probeRunning.compareAndSet(false, true)) {
            Logger.info("a bandwidth test was asked while one runs: skipped");
            return;
        }
        try {
            probing.execute(() -> {
                try {
                    List<byte[]> receipts = probe.measure(keys.deviceId(), held.nonce());
                    bandwidthTests.incrementAndGet();
                    if (receipts.isEmpty()) {
                        Logger.info("the bandwidth test gave no receipt (no endpoint answered, or none is configured)");
                        return;
                    }
                    int n = Math.min(receipts.size(), ServiceEvidence.MAX_BANDWIDTH_RECEIPTS);
                    bandwidthDue.set(new BandwidthDuty(held, List.copyOf(receipts.subList(0, n))));
                    reportSoon();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (RuntimeException e) {
                    Logger.warn("bandwidth test failed: {}", e.toString());
                } finally {
                    probeRunning.set(false);
                }
            });
        } catch (RejectedExecutionException e) {
            probeRunning.set(false);
        }
    }

    /** The answer to {@code duty} from the plot store, or the board's own error. */
    private AuditAnswer answer(AuditDuty duty) {
        try {
            AuditAnswer a = plot.answer(duty.challenge().nonce(), duty.leaves());
            auditsAnswered.incrementAndGet();
            Logger.info("answering a storage audit of {} leaves", duty.leaves());
            return a;
        } catch (java.io.IOException | RuntimeException e) {
            String why = e.getMessage() == null ? e.toString() : e.getMessage();
            Logger.warn("cannot answer a storage audit: {}", why);
            return AuditAnswer.failed(why);
        }
    }

    /**
     * The report's nonce and proof-of-service evidence: an audit due is answered with its own
     * challenge's nonce; bandwidth receipts go with theirs (in the same report when the nonce is the
     * same, else in the next one, made at once).
     */
    private Proofs proofs(Snapshot snapshot, Optional<byte[]> held) {
        Optional<byte[]> nonce = held;
        runStart.compareAndSet(-1, ReportFactory.uptime(snapshot).toMillis());
        ServiceEvidence e = ServiceEvidence.run(runStart.get());
        Optional<dev.prospector.attest.PlotCommitment> committed = plot.commitment();
        if (committed.isPresent()) {
            e = e.withPlot(committed.get());
        }
        // The challenge was read (in nonce()) before the duties: see the design note.
        AuditDuty audit = auditDue.getAndSet(null);
        if (audit != null) {
            if (usable(audit.challenge())) {
                nonce = Optional.of(audit.challenge().nonce());
                e = e.withAudit(answer(audit));
            } else {
                Logger.info(
                        "a storage audit was not answered: its challenge is past its lifetime by this board's clock");
            }
        }
        BandwidthDuty bw = bandwidthDue.get();
        if (bw != null) {
            if (!usable(bw.challenge())) {
                bandwidthDue.compareAndSet(bw, null);
                Logger.info("bandwidth receipts dropped: their challenge is past its lifetime by this board's clock");
            } else if (e.audit().isEmpty()
                    || (nonce.isPresent()
                            && Arrays.equals(nonce.get(), bw.challenge().nonce()))) {
                bandwidthDue.compareAndSet(bw, null);
                nonce = Optional.of(bw.challenge().nonce());
                e = e.withBandwidth(bw.receipts());
            } else {
                reportSoon(); // after this audit's answer
            }
        }
        return new Proofs(nonce, e);
    }

    /** What a report answers: its nonce and its proof-of-service evidence. */
    private record Proofs(Optional<byte[]> nonce, ServiceEvidence evidence) {}

    /** The last clock check against the verifier's receipts, once one has arrived. */
    public Optional<ClockCheck> clockCheck() {
        return clockCheck;
    }

    /** The last receipt that counted (signed by a trusted verifier, naming a report of ours). */
    public Optional<Receipt> lastReceipt() {
        return lastReceipt;
    }

    /** Tells {@code o} from now on what the node does (one observer; the dashboard's). */
    public void observe(NodeObserver o) {
        observer = java.util.Objects.requireNonNull(o, "observer");
    }

    /** The board's model and kind. */
    public BoardInfo boardInfo() {
        return board.info();
    }

    /** The status LED and button, when the board has them. */
    public Optional<BoardIo> boardIo() {
        return io;
    }

    /** Makes a report as soon as the scheduler is free (the button's short press). */
    public void reportSoon() {
        try {
            scheduler.execute(this::reportSafely);
        } catch (RejectedExecutionException e) {
            Logger.debug("not reporting: the agent is stopping");
        }
    }

    /**
     * Runs {@code task} every {@code period} on the report thread, until the returned future is
     * cancelled or the agent stops: for light, short work of the agent's other parts (the
     * dashboard's sampler, the fleet summary's timer), which then need no thread of their own. A
     * failure is logged and the next run still comes.
     */
    public java.util.concurrent.ScheduledFuture<?> every(Duration period, Runnable task) {
        return scheduler.scheduleWithFixedDelay(
                () -> {
                    try {
                        task.run();
                    } catch (RuntimeException e) {
                        Logger.warn(e, "periodic task failed");
                    }
                },
                period.toMillis(),
                period.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /** The report thread, as a scheduler: for {@link #every} and the fleet summary's timer. */
    ScheduledExecutorService scheduler() {
        return scheduler;
    }

    private void led(LedPattern pattern) {
        io.flatMap(BoardIo::led).ifPresent(l -> l.show(pattern));
    }

    /**
     * Stops making reports and returns once none is being made (at most {@link #STOP_REPORTING_WAIT});
     * the outbox keeps sending what it has until {@link #close()}. Without the wait a report being
     * signed when this was called entered the outbox afterwards: the demo on a board ten times
     * slower (`SlowBoardDemoIT`) counted its boards settled, then found one report pending and
     * failed its check.
     */
    public void stopReporting() {
        scheduler.shutdown();
        try {
            if (!scheduler.awaitTermination(STOP_REPORTING_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                Logger.debug("a report or audit answer still running {} after stopReporting", STOP_REPORTING_WAIT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Measures, signs and stores one report now; returns it. */
    public SignedReport reportNow() {
        // The outbox append is durable before the chain advances. If the chain state could not be
        // written afterwards (a crash, a full disk), the outbox is ahead: catch the chain up first,
        // so no report is lost and no seq is used twice (AgentWiring reconciled both at start).
        AgentWiring.reconcile(chain, outbox);
        chain.noteDelivered(deliveredThrough());
        Snapshot snapshot = board.measure();
        observer.measured(snapshot);
        Proofs proofs = proofs(snapshot, nonce());
        ReportInput input = factory.input(
                        snapshot, proofs.nonce(), outbox.losses().count())
                .withService(Optional.of(proofs.evidence()));
        SignedReport report = signer.sign(
                input, r -> outbox.append(r.claims().seq(), r.claims().chain(), r.bytes()));
        made.incrementAndGet();
        observer.made(report.claims().seq(), report.bytes().length, clock.instant());
        Logger.debug("report seq {} made ({} bytes)", report.claims().seq(), report.bytes().length);
        kick();
        return report;
    }

    /** The highest seq of the current chain up to which every report is delivered. */
    private long deliveredThrough() {
        return outbox.firstPendingSeq(chain.chain()).map(s -> s - 1).orElse(chain.seq());
    }

    /** Times a pump held a report back because an older one was not done (the window of seqs). */
    public long heldBackForWindow() {
        return heldBack.get();
    }

    public NodeStats stats() {
        return new NodeStats(
                made.get(),
                sent.get(),
                outbox.pendingCount(),
                outbox.losses().count(),
                link.isConnected(),
                delivered.get(),
                rejected.get(),
                publishes.get(),
                receiptsRefused.get(),
                receiptsUnmatched.get(),
                !verifiers.isEmpty(),
                plot.progress(),
                auditsAnswered.get(),
                bandwidthTests.get());
    }

    /** The node's plot store (what its reports commit). */
    public PlotStore plot() {
        return plot;
    }

    public OutboxJournal outbox() {
        return outbox;
    }

    /** Ledger blocks acknowledged and dropped unread (too large, or too many waiting); 0 without a shard. */
    public long ledgerBlocksDropped() {
        return ledger.map(LedgerService::dropped).orElse(0L);
    }

    /**
     * Whether the node is alive and doing its work: a report cycle ended within two intervals (plus
     * slack) and the delivery thread ran within the slack. What the systemd watchdog is fed on: a
     * hung scheduler or delivery thread stops the feeding, and systemd restarts the agent.
     */
    public boolean makingProgress() {
        long now = System.nanoTime();
        return !closed
                && now - lastCycleNanos
                        <= interval.multipliedBy(2).plus(PROGRESS_SLACK).toNanos()
                && now - lastPumpNanos <= PROGRESS_SLACK.toNanos();
    }

    private void reportSafely() {
        if (closed) {
            return;
        }
        try {
            if (!hungByTrigger()) {
                reportCycle();
            }
        } finally {
            lastCycleNanos = System.nanoTime();
        }
    }

    /**
     * The {@link #HANG_TRIGGER_PROPERTY} hook: blocks this report cycle until the node closes (which
     * interrupts it); whether it did.
     */
    private static boolean hungByTrigger() {
        if (HANG_TRIGGER.isEmpty()) {
            return false;
        }
        try {
            if (!java.nio.file.Files.deleteIfExists(HANG_TRIGGER.get())) {
                return false;
            }
        } catch (java.io.IOException e) {
            return false;
        }
        Logger.warn("{}: this report cycle hangs until the agent stops", HANG_TRIGGER_PROPERTY);
        try {
            new java.util.concurrent.CountDownLatch(1).await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return true;
    }

    private void reportCycle() {
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

    /** Asks the delivery thread to pump; calls while one is queued are folded into it. */
    private void kick() {
        if (closed || !pumpQueued.compareAndSet(false, true)) {
            return;
        }
        try {
            delivery.execute(() -> {
                pumpQueued.set(false);
                pump();
            });
        } catch (RejectedExecutionException e) {
            pumpQueued.set(false);
        }
    }

    /**
     * After a lost connection, every report in flight is due again once connected: its PUBACK or its
     * receipt may have been lost with the connection. (Every lost connection comes here before the
     * link connects again.)
     */
    private synchronized void resendAllNow() {
        for (InFlight f : inFlight.values()) {
            f.sentAt = null;
            f.publishing = false;
        }
    }

    /**
     * Publishes, in append order, the reports among the first {@link #MAX_IN_FLIGHT} pending ones
     * that are not yet sent or whose receipt is overdue, but none {@link #SEQ_WINDOW} or more seqs
     * ahead of the oldest pending one (see the design note). Runs on the delivery thread; holds the
     * node's lock, which the PUBACK and receipt callbacks take too, so the outbox and the in-flight
     * table are read and changed consistently. Publishing only queues, so the lock is held briefly.
     */
    synchronized void pump() {
        lastPumpNanos = System.nanoTime();
        if (closed || !link.isConnected()) {
            return;
        }
        String topic = Topics.report(fleet, device());
        Instant now = clock.instant();
        var head = outbox.pending(MAX_IN_FLIGHT);
        // Reports that left the outbox (delivered, or dropped when it was full) leave the table too.
        if (!inFlight.isEmpty()) {
            Set<Long> ids = new java.util.HashSet<>();
            head.forEach(e -> ids.add(e.id()));
            for (var it = inFlight.entrySet().iterator(); it.hasNext(); ) {
                var e = it.next();
                if (!ids.contains(e.getKey())) {
                    idByHash.remove(ByteBuffer.wrap(e.getValue().hash));
                    it.remove();
                }
            }
        }
        long oldest = head.isEmpty() ? 0 : head.get(0).seq();
        for (OutboxJournal.Entry entry : head) {
            if (entry.seq() - oldest >= SEQ_WINDOW) {
                // Held until the oldest is done: the verifier would refuse it as a replay after this one.
                heldBack.incrementAndGet();
                Logger.debug(
                        "report seq {} waits for report seq {}'s receipt (the verifier's window is {} seqs)",
                        entry.seq(),
                        oldest,
                        SEQ_WINDOW);
                continue;
            }
            InFlight f = inFlight.get(entry.id());
            if (f == null) {
                f = new InFlight(entry.seq(), Sha256.of(entry.report()));
                inFlight.put(entry.id(), f);
                idByHash.put(ByteBuffer.wrap(f.hash), entry.id());
            } else if (f.publishing
                    || (f.sentAt != null
                            && (verifiers.isEmpty() || now.isBefore(f.sentAt.plus(resendAfter(f.attempts)))))) {
                continue;
            }
            if (f.attempts > 0) {
                Logger.debug("report seq {} sent again (attempt {}): no receipt yet", f.seq, f.attempts + 1);
            }
            f.publishing = true;
            f.attempts++;
            f.sentAt = now;
            publishes.incrementAndGet();
            long id = entry.id();
            InFlight sending = f;
            link.publish(topic, entry.report(), 1, false)
                    .whenComplete((ok, failure) -> onPublished(id, sending, failure));
        }
    }

    /** The wait before attempt {@code attempts + 1}: the receipt timeout, doubled per attempt, at most {@link #MAX_RESEND_INTERVAL}. */
    private Duration resendAfter(int attempts) {
        Duration d = receiptTimeout;
        for (int i = 1; i < attempts && d.compareTo(MAX_RESEND_INTERVAL) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(MAX_RESEND_INTERVAL) > 0 ? MAX_RESEND_INTERVAL : d;
    }

    /** A publish completed: the broker has the report (PUBACK), or it failed and is due again once connected. */
    private void onPublished(long id, InFlight f, Throwable failure) {
        synchronized (this) {
            f.publishing = false;
            if (failure != null) {
                f.sentAt = null;
                Logger.debug("report seq {} not acknowledged by the broker: {}", f.seq, failure.getMessage());
                return;
            }
            if (!f.atBroker) {
                f.atBroker = true;
                sent.incrementAndGet();
            }
            if (verifiers.isEmpty() && inFlight.remove(id) != null) {
                idByHash.remove(ByteBuffer.wrap(f.hash));
                outbox.acknowledge(id);
                delivered.incrementAndGet();
            }
        }
        kick();
    }

    private void publishBirth() {
        BoardInfo info = board.info();
        CBORObject state = CBORObject.NewOrderedMap()
                .Add("online", true)
                .Add("device", device())
                .Add("version", dev.prospector.agent.common.Version.current())
                .Add("board", info.kind())
                .Add("model", info.model())
                .Add("key", Base64.getEncoder().encodeToString(keys.publicKey()))
                .Add("key_hex", HexFormat.of().formatHex(keys.publicKey()))
                .Add("config", configHashHex)
                .Add("time", clock.instant().toString());
        if (!keys.rotations().isEmpty()) {
            // The chain from the device id's first key to the current one: whoever checks this
            // board's signed command results can follow it without trusting this message.
            CBORObject rot = CBORObject.NewArray();
            keys.rotations().forEach(r -> rot.Add(Base64.getEncoder().encodeToString(r.bytes())));
            state.Add("rot", rot);
        }
        link.publish(Topics.state(fleet, device()), state.ToJSONString().getBytes(StandardCharsets.UTF_8), 1, true);
    }

    private byte[] offline() {
        return CBORObject.NewOrderedMap()
                .Add("online", false)
                .Add("device", device())
                .ToJSONString()
                .getBytes(StandardCharsets.UTF_8);
    }

    /** Publishes the offline state (a clean shutdown sends no last will) and disconnects. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        scheduler.shutdownNow();
        delivery.shutdownNow();
        probing.shutdownNow();
        try {
            scheduler.awaitTermination(5, TimeUnit.SECONDS);
            delivery.awaitTermination(5, TimeUnit.SECONDS);
            probing.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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
        try {
            chain.checkpoint(); // the position is in the outbox too; this saves the next start a recovery
        } catch (RuntimeException e) {
            Logger.warn("chain state not checkpointed at stop: {}", e.getMessage());
        }
        outbox.close();
        board.close();
        plot.close(); // stops the plotting thread before the data dir is unlocked
        try {
            dataDirLock.close();
        } catch (Exception e) {
            Logger.debug("releasing the data dir lock: {}", e.toString());
        }
    }
}
