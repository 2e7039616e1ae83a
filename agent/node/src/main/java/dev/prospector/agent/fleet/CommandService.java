package dev.prospector.agent.fleet;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.CommandResult;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.FleetCommand;
import dev.prospector.attest.Hex;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.Sha256;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.tinylog.Logger;

/**
 * The board's side of fleet commands (issue 14): receives {@link FleetCommand}s on the device's,
 * its groups' and the fleet's command topics, runs those it must obey through a
 * {@link CommandHandler}, and answers every one with a {@link CommandResult} signed by the device
 * key on {@code <device>/cmd/result}.
 *
 * <h2>What is refused, in order</h2>
 * Anyone who can publish on the broker can send anything, so a command runs only if all hold:
 * <ol>
 *   <li>at most {@link FleetCommand#MAX_BYTES}, a well-formed tagged COSE_Sign1 (EdDSA);
 *   <li>its {@code kid} names an operator key in the board's configuration ({@link TrustedOperators});
 *   <li>the signature verifies under that key (checked before the payload is even decoded);
 *   <li>the payload decodes strictly (exact keys and types, bounded nesting and size);
 *   <li>it is for this fleet and addressed to this board (its device id, one of its groups, or all);
 *   <li>it has not expired, and was not issued more than the skew allowance in the future;
 *   <li>the board knows the command, and the key's role is at least the handler's;
 *   <li>its nonce was never used (the {@link ReplayStore}, on disk before the command runs).
 * </ol>
 * Anything else is refused, never run, logged and answered with its reason.
 *
 * <h2>Bounded under a flood</h2>
 * Messages are handed from Paho's thread to one command thread (made when work comes, ended when
 * idle: {@link #WORKER_IDLE}) through a queue of at most
 * {@link #QUEUE} messages; beyond that they are dropped and counted (the broker's receive maximum
 * bounds what arrives at once anyway). Refusals are answered and logged at warn level at most
 * {@link #REFUSAL_BURST} at once and {@link #REFUSALS_PER_MINUTE} a minute; the rest are counted and
 * summed up in one line a minute, so a flood costs neither memory nor the journal, and no report:
 * reporting runs on threads of its own and never waits for this one.
 *
 * <h2>Results</h2>
 * An immediate outcome is published at once (with the command's MQTT 5 correlation data, and a
 * copy on its response topic when that lies under {@code prospector/v1/<fleet>/replies/}: the
 * response topic is not signed, so it may not point elsewhere). A later outcome sent through the
 * {@link ResultSink} is first kept on disk ({@link ResultStore}) and published on every connect
 * until the broker has it.
 */
public final class CommandService implements AutoCloseable {
    /** Messages waiting for the command thread, at most. */
    public static final int QUEUE = 64;

    public static final int REFUSAL_BURST = 20;
    public static final int REFUSALS_PER_MINUTE = 60;
    /** Default allowance for an operator's clock ahead of the board's. */
    public static final Duration DEFAULT_SKEW = Duration.ofMinutes(2);
    /** Subdirectory of the data dir with the nonce store and unsent results. */
    public static final String DIR = "fleet";

    /** How the service reaches the broker: the agent's own link. */
    public interface Channel {
        /** Subscribes to an exact topic; messages come on Paho's thread. */
        void route(String topic, Inbound inbound);

        CompletableFuture<Void> publish(String topic, byte[] payload, Optional<byte[]> correlationData);

        /** Publishes a retained message (the compact state). */
        CompletableFuture<Void> publishRetained(String topic, byte[] payload);

        void onConnect(Runnable hook);

        boolean connected();
    }

    /** A message on a command topic. */
    @FunctionalInterface
    public interface Inbound {
        void onMessage(String topic, byte[] payload, MqttLink.Reply reply);
    }

    /** What the service does later, after a command's answer is out (a restart, a key rotation). */
    public static final class AfterAnswer {
        private final ThreadLocal<List<Runnable>> pending = ThreadLocal.withInitial(ArrayList::new);

        /** Runs {@code action} once the answer of the command now being handled is published (or 5 s passed). */
        public void run(Runnable action) {
            pending.get().add(action);
        }

        List<Runnable> take() {
            var out = new ArrayList<>(pending.get());
            pending.get().clear();
            return out;
        }
    }

    /** Counters, for tests, the benchmark and {@code status}. */
    public record Stats(
            long received,
            long executed,
            long refused,
            long dropped,
            long answered,
            long unanswered,
            Map<String, Long> refusedBy) {}

    private final String fleet;
    private final DeviceKeys keys;
    private final String device;
    private final List<String> groups;
    private final TrustedOperators operators;
    private final Map<String, CommandHandler> handlers = new LinkedHashMap<>();
    private final Clock clock;
    private final Duration skew;
    private final Channel channel;
    private final AfterAnswer after;
    private final ReplayStore replays;
    private final ResultStore results;
    private final ExecutorService worker;
    private final boolean ownWorker;
    /**
     * One timer for every service of the process that is not given one (the benchmark's thousand):
     * made on first use. A board's service is given the agent's scheduler ({@link
     * #start(ScheduledExecutorService)}), which costs no thread of its own.
     */
    private static final class SharedTimer {
        static final ScheduledExecutorService TIMER =
                Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "fleet-summary"));
    }

    /** How long the service's own command thread waits for work before it ends (it is made again on the next). */
    static final Duration WORKER_IDLE = Duration.ofSeconds(10);

    private volatile java.util.concurrent.ScheduledFuture<?> summaryTask;
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong executed = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong answered = new AtomicLong();
    private final AtomicLong unanswered = new AtomicLong();
    private final Map<String, AtomicLong> refusedBy = new ConcurrentHashMap<>();
    private final Supplier<Map<String, Object>> summary;
    /** Hashes of the last commands run, by id, for their later results. */
    private final Map<String, byte[]> recentHashes = new LinkedHashMap<>(16, 0.75f, false) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, byte[]> eldest) {
            return size() > 256;
        }
    };
    /** Token bucket for answered refusals (command thread only). */
    private double tokens = REFUSAL_BURST;

    private long lastRefill = System.nanoTime();
    private long silencedSinceLog;
    private long lastSummaryLog = System.nanoTime();

    /**
     * @param dataDir the board's data dir (its lock held by the agent); the service keeps its files
     *     in {@code fleet/} under it
     * @param summary the compact state published retained on {@code <device>/summary} at every
     *     connect and every minute (what {@code prospector fleet list} shows)
     * @param worker the command thread, or null for one of the service's own
     */
    public CommandService(
            String fleet,
            DeviceKeys keys,
            List<String> groups,
            TrustedOperators operators,
            List<CommandHandler> handlerList,
            Clock clock,
            Duration skew,
            Path dataDir,
            Channel channel,
            AfterAnswer after,
            Supplier<Map<String, Object>> summary,
            ExecutorService worker) {
        this.fleet = fleet;
        this.keys = keys;
        this.device = keys.deviceId().value();
        this.groups = List.copyOf(groups);
        this.operators = operators;
        for (CommandHandler h : handlerList) {
            if (handlers.putIfAbsent(h.name(), h) != null) {
                throw new IllegalArgumentException("two handlers for command " + h.name());
            }
        }
        this.clock = clock;
        this.skew = skew;
        this.channel = channel;
        this.after = after;
        this.summary = summary;
        Path dir = dataDir.resolve(DIR);
        try {
            Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw new dev.prospector.agent.common.Failure("cannot create " + dir + ": " + e.getMessage());
        }
        this.replays = ReplayStore.open(dir, skew, clock.instant());
        this.results = new ResultStore(dir);
        this.ownWorker = worker == null;
        this.worker = worker != null ? worker : onDemandThread("fleet-cmd-" + device);
    }

    /**
     * One thread at a time, in order, made when a message comes and ended after {@link #WORKER_IDLE}
     * without one: an idle board holds no command thread (docs/BENCHMARKS.md, "Resident memory").
     * The queue itself is unbounded; {@link #QUEUE} bounds it through {@code queued}.
     */
    private static ExecutorService onDemandThread(String name) {
        var pool = new java.util.concurrent.ThreadPoolExecutor(
                1,
                1,
                WORKER_IDLE.toMillis(),
                TimeUnit.MILLISECONDS,
                new java.util.concurrent.LinkedBlockingQueue<>(),
                r -> daemon(r, name));
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Subscribes and starts answering; call before the agent's link connects. */
    public void start() {
        start(SharedTimer.TIMER);
    }

    /**
     * As {@link #start()}, with the minute's summary timed by {@code timer} (the agent's scheduler:
     * the timer only hands the summary to the command thread).
     */
    public void start(ScheduledExecutorService timer) {
        Inbound in = this::enqueue;
        channel.route(Topics.command(fleet, device), in);
        for (String g : groups) {
            channel.route(Topics.groupCommand(fleet, g), in);
        }
        channel.route(Topics.allCommand(fleet), in);
        channel.onConnect(() -> {
            submit(this::flushKept);
            submit(this::publishSummary);
        });
        summaryTask = timer.scheduleWithFixedDelay(() -> submit(this::publishSummary), 60, 60, TimeUnit.SECONDS);
        if (operators.isEmpty()) {
            Logger.info("no operator key (--operator-key): every fleet command is refused");
        } else {
            Logger.info(
                    "obeying fleet commands signed by {} on {} (groups {})",
                    operators,
                    Topics.command(fleet, device),
                    groups);
        }
    }

    /** The handlers by name (what the board can run). */
    public List<String> commands() {
        return List.copyOf(handlers.keySet());
    }

    /** The ResultSink handlers get: results kept on disk, then published. */
    public ResultSink sink() {
        return this::sendLater;
    }

    public ReplayStore replayStore() {
        return replays;
    }

    public Stats stats() {
        var by = new LinkedHashMap<String, Long>();
        refusedBy.forEach((k, v) -> by.put(k, v.get()));
        return new Stats(
                received.get(), executed.get(), refused.get(), dropped.get(), answered.get(), unanswered.get(), by);
    }

    private void submit(Runnable task) {
        try {
            worker.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    Logger.error(e, "fleet command work failed");
                }
            });
        } catch (RejectedExecutionException e) {
            Logger.debug("fleet command service stopped: {}", e.getMessage());
        }
    }

    private void enqueue(String topic, byte[] payload, MqttLink.Reply reply) {
        received.incrementAndGet();
        if (queued.incrementAndGet() > QUEUE) {
            queued.decrementAndGet();
            dropped.incrementAndGet();
            return;
        }
        try {
            worker.execute(() -> {
                queued.decrementAndGet();
                try {
                    handle(topic, payload, reply);
                } catch (RuntimeException e) {
                    Logger.error(e, "handling a fleet command failed");
                }
            });
        } catch (RejectedExecutionException e) {
            queued.decrementAndGet();
            dropped.incrementAndGet();
        }
    }

    /** Checks, runs and answers one message (command thread). */
    void handle(String topic, byte[] bytes, MqttLink.Reply reply) {
        byte[] hash = Sha256.of(bytes);
        Instant now = clock.instant();
        FleetCommand.Decoded decoded;
        TrustedOperators.Operator signer;
        try {
            var envelope = FleetCommand.envelope(bytes);
            var op = operators.byKeyId(envelope.kid());
            if (op.isEmpty()) {
                refuse(
                        "unknown-key",
                        "",
                        hash,
                        reply,
                        "signed by an unknown operator key " + Hex.encode(envelope.kid())
                                + " (not among the board's --operator-key)");
                return;
            }
            signer = op.get();
            if (!envelope.verify(signer.publicKey())) {
                refuse("bad-signature", "", hash, reply, "bad signature: not signed by operator key " + signer.keyId());
                return;
            }
            decoded = FleetCommand.decode(bytes);
        } catch (MalformedReportException e) {
            String kind =
                    bytes.length == 0 ? "empty" : bytes.length > FleetCommand.MAX_BYTES ? "oversized" : "malformed";
            refuse(kind, "", hash, reply, "not a fleet command: " + e.getMessage());
            return;
        }
        FleetCommand c = decoded.command();
        if (!c.fleet().equals(fleet)) {
            refuse("other-fleet", c.id(), hash, reply, "for fleet " + c.fleet() + ", not " + fleet);
            return;
        }
        if (!addressedToMe(c.target())) {
            refuse(
                    "not-addressed",
                    c.id(),
                    hash,
                    reply,
                    "addressed to " + c.target() + ", not to this board (" + device
                            + (groups.isEmpty() ? "" : ", groups " + String.join(",", groups)) + ")");
            return;
        }
        if (!now.isBefore(c.expiry())) {
            refuse("expired", c.id(), hash, reply, "expired at " + c.expiry() + " (board clock " + now + ")");
            return;
        }
        if (c.issuedAt().isAfter(now.plus(skew))) {
            refuse(
                    "future",
                    c.id(),
                    hash,
                    reply,
                    "issued in the future: " + c.issuedAt() + ", board clock " + now + ", allowance " + skew.toSeconds()
                            + " s");
            return;
        }
        CommandHandler handler = handlers.get(c.name());
        if (handler == null) {
            refuse(
                    "unknown-command",
                    c.id(),
                    hash,
                    reply,
                    "unknown command " + c.name() + " (this board runs " + String.join(", ", handlers.keySet()) + ")");
            return;
        }
        if (!signer.role().allows(handler.minimumRole())) {
            refuse(
                    "role",
                    c.id(),
                    hash,
                    reply,
                    "role too low: key " + signer.keyId().substring(0, 8) + " is "
                            + signer.role().label() + ", " + c.name() + " needs "
                            + handler.minimumRole().label());
            return;
        }
        String replay = replays.record(decoded.keyId(), c.nonce(), c.issuedAt(), c.expiry(), now);
        if (replay != null) {
            refuse(replay.startsWith("nonce already used") ? "replayed" : "replay-store", c.id(), hash, reply, replay);
            return;
        }
        var command = new SignedCommand(
                c.id(), c.name(), c.plainArgs(), c.issuedAt(), c.expiry(), signer.role(), c.target(), signer.keyId());
        synchronized (recentHashes) {
            recentHashes.put(c.id(), hash);
        }
        CommandOutcome outcome;
        after.take(); // nothing left over from an earlier command
        try {
            Logger.info(
                    "running fleet command {} {} from {} key {}",
                    c.id(),
                    c.name(),
                    signer.role().label(),
                    signer.keyId().substring(0, 8));
            outcome = handler.handle(command, sink());
        } catch (Exception e) {
            outcome = CommandOutcome.failed(c.name() + " failed: " + e.getMessage());
        }
        executed.incrementAndGet();
        List<Runnable> followUps = after.take();
        CompletableFuture<Void> sent = answer(c.id(), hash, outcome, reply);
        if (!followUps.isEmpty()) {
            sent.orTimeout(5, TimeUnit.SECONDS).whenComplete((ok, failure) -> followUps.forEach(r -> submit(r)));
        }
    }

    private boolean addressedToMe(String target) {
        if (target.equals(FleetCommand.ALL)) {
            return true;
        }
        if (target.startsWith(FleetCommand.DEVICE_PREFIX)) {
            return target.substring(FleetCommand.DEVICE_PREFIX.length()).equals(device);
        }
        return groups.contains(target.substring(FleetCommand.GROUP_PREFIX.length()));
    }

    private void refuse(String kind, String id, byte[] hash, MqttLink.Reply reply, String reason) {
        refused.incrementAndGet();
        refusedBy.computeIfAbsent(kind, k -> new AtomicLong()).incrementAndGet();
        if (takeToken()) {
            Logger.warn("refused fleet command {}{}: {}", id.isEmpty() ? "" : id + " ", "[" + kind + "]", reason);
            answer(id, hash, CommandOutcome.refused(reason), reply);
        } else {
            unanswered.incrementAndGet();
            silencedSinceLog++;
            Logger.debug("refused fleet command [{}] without answer (rate limit): {}", kind, reason);
        }
        long nowNanos = System.nanoTime();
        if (silencedSinceLog > 0 && nowNanos - lastSummaryLog > TimeUnit.MINUTES.toNanos(1)) {
            Logger.warn(
                    "refused {} more fleet commands without answer or log line (rate limit); by reason {}",
                    silencedSinceLog,
                    stats().refusedBy());
            silencedSinceLog = 0;
            lastSummaryLog = nowNanos;
        }
    }

    private boolean takeToken() {
        long now = System.nanoTime();
        tokens = Math.min(REFUSAL_BURST, tokens + (now - lastRefill) * REFUSALS_PER_MINUTE / 60e9);
        lastRefill = now;
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }

    private CommandResult result(String id, byte[] hash, CommandOutcome outcome) {
        return new CommandResult(
                id,
                keys.deviceId(),
                outcome.status().label(),
                outcome.reason(),
                FleetCommand.cborMap(outcome.result()),
                hash,
                clock.instant());
    }

    private CompletableFuture<Void> answer(String id, byte[] hash, CommandOutcome outcome, MqttLink.Reply reply) {
        byte[] signed = result(id, hash, outcome).sign(keys);
        answered.incrementAndGet();
        var done = channel.publish(Topics.commandResult(fleet, device), signed, reply.correlationData());
        reply.responseTopic()
                .filter(this::allowedResponseTopic)
                .ifPresent(t -> channel.publish(t, signed, reply.correlationData()));
        return done;
    }

    private boolean allowedResponseTopic(String t) {
        return t.startsWith(Topics.repliesRoot(fleet))
                && t.length() <= 256
                && t.indexOf('+') < 0
                && t.indexOf('#') < 0
                && t.indexOf('\0') < 0;
    }

    /**
     * A later result names the command's id and, if the command ran in this run, its hash (32 zero
     * bytes after a restart: the id is what an operator matches).
     */
    private void sendLater(String commandId, CommandOutcome outcome) {
        byte[] hash;
        synchronized (recentHashes) {
            hash = recentHashes.getOrDefault(commandId, new byte[Sha256.BYTES]);
        }
        byte[] signed = result(commandId, hash, outcome).sign(keys);
        Path file = results.keep(commandId, signed);
        submit(() -> publishKept(file, signed));
    }

    private void publishKept(Path file, byte[] signed) {
        if (!channel.connected()) {
            return; // sent by flushKept at the next connect
        }
        answered.incrementAndGet();
        channel.publish(Topics.commandResult(fleet, device), signed, Optional.empty())
                .thenRun(() -> {
                    if (file != null) {
                        ResultStore.delete(file);
                    }
                });
    }

    private void flushKept() {
        for (Path p : results.files()) {
            try {
                publishKept(p, Files.readAllBytes(p));
            } catch (java.io.IOException e) {
                Logger.warn("cannot read kept command result {}: {}", p, e.getMessage());
                ResultStore.delete(p);
            }
        }
    }

    private void publishSummary() {
        if (!channel.connected()) {
            return;
        }
        Map<String, Object> s = new LinkedHashMap<>(summary.get());
        s.put("device", device);
        s.put("groups", groups);
        s.put("time", clock.instant().toString());
        var st = stats();
        s.put("commands", Map.of("executed", st.executed(), "refused", st.refused()));
        byte[] json = CBORObject.FromObject(s).ToJSONString().getBytes(StandardCharsets.UTF_8);
        channelPublishRetained(json);
    }

    private void channelPublishRetained(byte[] json) {
        channel.publishRetained(Topics.summary(fleet, device), json);
    }

    @Override
    public void close() {
        var task = summaryTask;
        if (task != null) {
            task.cancel(false);
        }
        if (ownWorker) {
            worker.shutdownNow();
        }
    }
}
