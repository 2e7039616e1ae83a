package dev.prospector.agent.console;

import dev.prospector.agent.transport.MqttLink;
import dev.prospector.agent.transport.MqttSettings;
import dev.prospector.agent.transport.Topics;
import dev.prospector.attest.CommandResult;
import dev.prospector.attest.FleetCommand;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.OperatorKey;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The operator's side of fleet commands, without a command line (so the benchmarks use it too):
 * reads the fleet from the broker's retained messages, sends signed commands and collects the
 * signed results.
 *
 * <h2>Knowing when the retained messages are all in</h2>
 * After subscribing (the SUBACK is awaited), the console publishes one message of its own on a
 * topic it is also subscribed to. The broker queues a subscription's retained messages to the
 * client before it handles the client's next packet, and delivers a connection's messages in
 * order, so when that marker comes back every retained message the broker sent has arrived: no
 * quiet-period guess. What a broker drops is another matter (Mosquitto's
 * {@code max_queued_messages}, see {@link #connect}): the births ({@code +/state}) and the compact
 * states ({@code +/summary}) are asked for one after the other, each followed by a marker.
 *
 * <h2>Results</h2>
 * A result counts only if it decodes strictly, names a command this console sent (by id) and
 * verifies under the device's key from its birth (checked against the device id, see
 * {@link DeviceView}); anything else on the result topics is counted as {@code unverified}.
 */
public final class FleetConsole implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String fleet;
    private final MqttLink link;
    private final String id;
    /** The last retained birth/will and compact state of each device, as received (parsed when asked). */
    private final Map<String, byte[]> states = new ConcurrentHashMap<>();

    private final Map<String, byte[]> summaries = new ConcurrentHashMap<>();
    /** Parsed views, dropped when a device's messages change. */
    private final Map<String, DeviceView> views = new ConcurrentHashMap<>();

    private final Map<String, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong unverified = new AtomicLong();
    private final AtomicLong messages = new AtomicLong();
    private volatile CountDownLatch marker = new CountDownLatch(0);
    private volatile Runnable onChange = () -> {};
    private volatile boolean markerSubscribed;

    /** A command in flight: who must answer, and what came. */
    private record Pending(
            Set<String> expected,
            Map<String, CommandResult> results,
            Consumer<CommandResult> progress,
            CountDownLatch all) {}

    public FleetConsole(MqttSettings settings, String fleet) {
        this.fleet = Topics.requireFleet(fleet);
        this.id = "c" + HexFormat.of().formatHex(RANDOM.generateSeed(6));
        this.link = new MqttLink(
                settings.withSessionExpiry(Duration.ZERO), Optional.empty(), (MqttLink.Listener) this::onMessage);
    }

    /** A console client id for {@link MqttSettings#of}. */
    public static String clientId() {
        return "prospector-console-" + HexFormat.of().formatHex(RANDOM.generateSeed(6));
    }

    /** Connects (one clear line when the broker cannot be reached) and reads every retained state. */
    public void connect(Duration timeout) throws InterruptedException {
        link.connect();
        // QoS 0: a broker queues at most max_queued_messages (Mosquitto: 1,000) QoS 1 messages for a
        // client and drops the rest of a subscription's retained messages. Mosquitto drops QoS 0
        // ones too, but only while that many packets already wait to be written to the client, so
        // one subscription's retained messages at a time: with both subscriptions at once a
        // default Mosquitto dropped 875 to 4,224 of 10,000 devices' summaries (while this
        // console was still reading the states); one at a time, none in the runs we made.
        link.subscribe(Topics.allStates(fleet), 0);
        boolean synced = sync(timeout);
        link.subscribe(Topics.allSummaries(fleet), 0);
        link.subscribe(Topics.allCommandResults(fleet), 1);
        if (!synced || !sync(timeout)) {
            throw new dev.prospector.agent.common.Failure(
                    "the broker did not send the fleet's retained states within " + timeout.toSeconds()
                            + " s (a slow or overloaded broker?): try again with a longer --sync-timeout",
                    dev.prospector.agent.common.Failure.Kind.UNAVAILABLE);
        }
    }

    /** Waits until every message the broker queued for us before now has arrived (see above). */
    public boolean sync(Duration timeout) throws InterruptedException {
        String topic = Topics.repliesRoot(fleet) + id + "/marker";
        if (!markerSubscribed) {
            link.subscribe(topic, 1);
            markerSubscribed = true;
        }
        CountDownLatch latch = new CountDownLatch(1);
        marker = latch;
        link.publish(topic, new byte[] {1}, 1, false);
        return latch.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void onMessage(String topic, byte[] payload) {
        messages.incrementAndGet();
        if (topic.startsWith(Topics.repliesRoot(fleet))) {
            if (topic.endsWith("/marker")) {
                marker.countDown();
            }
            return;
        }
        // Only kept here: parsing happens when the devices are asked for (in parallel), so that
        // this one MQTT thread keeps up with tens of thousands of retained messages.
        Optional<String> d = Topics.deviceOf(fleet, topic, "state");
        if (d.isPresent()) {
            states.put(d.get(), payload);
            views.remove(d.get());
            onChange.run();
            return;
        }
        d = Topics.deviceOf(fleet, topic, "summary");
        if (d.isPresent()) {
            summaries.put(d.get(), payload);
            views.remove(d.get());
            onChange.run();
            return;
        }
        d = Topics.deviceOf(fleet, topic, "cmd/result");
        if (d.isPresent()) {
            onResult(d.get(), payload);
        }
    }

    private void onResult(String device, byte[] payload) {
        CommandResult.Decoded decoded;
        try {
            decoded = CommandResult.decode(payload);
        } catch (MalformedReportException e) {
            unverified.incrementAndGet();
            return;
        }
        var r = decoded.result();
        var p = pending.get(r.commandId());
        DeviceView view = states.containsKey(device) ? view(device) : null;
        if (p == null
                || !r.device().value().equals(device)
                || view == null
                || view.key().isEmpty()
                || !decoded.verify(view.key().get())) {
            unverified.incrementAndGet();
            return;
        }
        CommandResult previous = p.results().put(device, r);
        p.progress().accept(r);
        if (!r.status().equals("pending")
                && (previous == null || previous.status().equals("pending"))
                && p.expected().contains(device)) {
            p.all().countDown();
        }
    }

    private DeviceView view(String device) {
        return views.computeIfAbsent(device, k -> {
            DeviceView v = DeviceView.of(k);
            byte[] state = states.get(k);
            byte[] summary = summaries.get(k);
            if (state != null) {
                v = v.withState(state);
            }
            return summary == null ? v : v.withSummary(summary);
        });
    }

    /** The devices known from retained messages, by id. */
    public Map<String, DeviceView> devices() {
        var ids = new java.util.HashSet<>(states.keySet());
        ids.addAll(summaries.keySet());
        Map<String, DeviceView> out = new ConcurrentHashMap<>();
        ids.parallelStream().forEach(id -> out.put(id, view(id)));
        return new TreeMap<>(out);
    }

    /** Called (on the MQTT thread, must not block) whenever a device's state changes. */
    public void onChange(Runnable listener) {
        this.onChange = listener;
    }

    /** Results on the result topics that did not verify or named no command of ours. */
    public long unverified() {
        return unverified.get();
    }

    public long messages() {
        return messages.get();
    }

    /** What {@link #send} collected. */
    public record Outcome(
            FleetCommand command, Set<String> expected, Map<String, CommandResult> results, Duration took) {
        /** True if every expected device answered ok. */
        public boolean allOk() {
            return !expected.isEmpty()
                    && expected.stream()
                            .allMatch(d -> results.containsKey(d)
                                    && results.get(d).status().equals("ok"));
        }
    }

    /** A new command with a fresh id and nonce, valid from now for {@code lifetime}. */
    public FleetCommand command(String target, String name, Map<String, Object> args, Duration lifetime, Clock clock) {
        byte[] nonce = new byte[16];
        RANDOM.nextBytes(nonce);
        Instant now = clock.instant();
        String cmdId = name + "-" + HexFormat.of().formatHex(RANDOM.generateSeed(6));
        return new FleetCommand(cmdId, fleet, target, name, FleetCommand.cborMap(args), nonce, now, now.plus(lifetime));
    }

    /**
     * The devices that must answer a target, as far as the retained states tell: the one device
     * named, or the online devices of the group or fleet (an offline board cannot answer; the
     * console lists those apart).
     */
    public Set<String> expected(String target) {
        var devices = devices();
        if (target.equals(FleetCommand.ALL)) {
            return devices.values().stream()
                    .filter(DeviceView::online)
                    .map(DeviceView::device)
                    .collect(java.util.stream.Collectors.toUnmodifiableSet());
        }
        if (target.startsWith(FleetCommand.DEVICE_PREFIX)) {
            return Set.of(target.substring(FleetCommand.DEVICE_PREFIX.length()));
        }
        String group = target.substring(FleetCommand.GROUP_PREFIX.length());
        return devices.values().stream()
                .filter(v -> v.online() && v.groups().contains(group))
                .map(DeviceView::device)
                .collect(java.util.stream.Collectors.toUnmodifiableSet());
    }

    /** The topic a target's commands go to. */
    public String topicOf(String target) {
        if (target.equals(FleetCommand.ALL)) {
            return Topics.allCommand(fleet);
        }
        if (target.startsWith(FleetCommand.DEVICE_PREFIX)) {
            return Topics.command(fleet, target.substring(FleetCommand.DEVICE_PREFIX.length()));
        }
        return Topics.groupCommand(fleet, target.substring(FleetCommand.GROUP_PREFIX.length()));
    }

    /**
     * Signs and publishes {@code command}, then waits until every expected device gave a final
     * answer or {@code timeout} passed; {@code progress} sees each result as it comes.
     */
    public Outcome send(FleetCommand command, OperatorKey key, Duration timeout, Consumer<CommandResult> progress)
            throws InterruptedException {
        return sendBytes(command, command.sign(key), timeout, progress);
    }

    /** As {@link #send}, with the bytes to publish given (tests send damaged ones). */
    public Outcome sendBytes(FleetCommand command, byte[] bytes, Duration timeout, Consumer<CommandResult> progress)
            throws InterruptedException {
        Set<String> expected = expected(command.target());
        var p = new Pending(expected, new ConcurrentHashMap<>(), progress, new CountDownLatch(expected.size()));
        pending.put(command.id(), p);
        long start = System.nanoTime();
        try {
            link.publish(topicOf(command.target()), bytes, 1, false).get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            pending.remove(command.id());
            throw new dev.prospector.agent.common.Failure(
                    "the broker did not take the command: " + e.getMessage(),
                    dev.prospector.agent.common.Failure.Kind.UNAVAILABLE,
                    e);
        }
        p.all().await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        pending.remove(command.id());
        return new Outcome(command, expected, new LinkedHashMap<>(p.results()), took);
    }

    /** Publishes raw bytes (tests, the refusal flood). */
    public void publishRaw(String topic, byte[] bytes) {
        link.publish(topic, bytes, 0, false);
    }

    /** Keeps waiting for results of a command already sent (used by tests). */
    public List<String> commandIdsInFlight() {
        return List.copyOf(pending.keySet());
    }

    @Override
    public void close() {
        link.close();
    }
}
