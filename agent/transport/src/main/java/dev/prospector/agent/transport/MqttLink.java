package dev.prospector.agent.transport;

import dev.prospector.agent.common.Failure;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttActionListener;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.tinylog.Logger;

/**
 * One MQTT 5 connection with its own reconnect loop (exponential backoff with jitter, see
 * {@link Backoff}) and re-subscription after every reconnect.
 *
 * <p>Paho keeps in-flight messages only in memory here: durability is the caller's job (the
 * agent's outbox keeps a report until {@link #publish} completes, which for QoS 1 is the broker's
 * PUBACK). Messages arrive on Paho's callback thread; listeners must not block.
 *
 * <p>Each connection after a lost one uses a fresh Paho client: a publish not acknowledged when
 * the connection dies fails (its caller sends it again, as the outbox does) instead of being
 * re-sent by Paho. Paho 1.2.5 cannot re-send safely: it replaces the topic of a repeated PUBLISH
 * by an MQTT 5 topic alias and keeps that alias-only packet as its in-flight copy, and on a new
 * connection (where the broker knows no alias, MQTT 5 section 3.3.2.3.4) the re-sent copy is a
 * protocol error: Mosquitto answers DISCONNECT 0x82 at every reconnect, for ever, and the link
 * never delivers again. The broker's session (subscriptions, QoS 1 messages queued for us) is
 * kept: the new client connects with the same client id and clean start off.
 */
public final class MqttLink implements AutoCloseable {

    /** What the link tells its owner. Called on Paho's threads; must not block. */
    public interface Listener {
        void onMessage(String topic, byte[] payload);

        default void onConnected() {}

        default void onConnectionLost(String reason) {}
    }

    /**
     * A listener that acknowledges each message itself: the broker keeps a QoS 1 message (and sends
     * it again after a reconnect) until {@code ack} runs. For work that must finish before the
     * message may be forgotten, such as forwarding it.
     */
    public interface AcknowledgingListener extends Listener {
        void onMessage(String topic, byte[] payload, Runnable ack);

        /** As above, with the message's MQTT 5 response topic and correlation data (fleet commands). */
        default void onMessage(String topic, byte[] payload, Reply reply, Runnable ack) {
            onMessage(topic, payload, ack);
        }

        @Override
        default void onMessage(String topic, byte[] payload) {
            throw new UnsupportedOperationException("called with an ack");
        }
    }

    /**
     * A message's MQTT 5 response topic and correlation data, when its publisher set them (empty
     * otherwise). Neither is covered by any signature: a receiver checks the topic before using it.
     */
    public record Reply(java.util.Optional<String> responseTopic, java.util.Optional<byte[]> correlationData) {
        public static final Reply NONE = new Reply(java.util.Optional.empty(), java.util.Optional.empty());
    }

    /** A last will: published by the broker when the connection dies without DISCONNECT. */
    public record Will(String topic, byte[] payload, boolean retained) {}

    /** Connection time-out of one attempt. */
    private static final int CONNECT_TIMEOUT_SECONDS = 10;
    /**
     * Publishes sent but not yet acknowledged, at most: within the receive maximum of common
     * brokers (HiveMQ 10, Mosquitto 20), so Paho never refuses one as "too many in progress".
     */
    static final int SEND_WINDOW = 10;

    private final MqttSettings settings;
    /** The Paho client of the current connection; replaced after a connection was lost (see above). */
    private volatile MqttAsyncClient client;
    /** Whether {@link #client} has been connected: the next connection then needs a fresh one. */
    private volatile boolean clientUsed;

    private final Optional<TlsSocketFactories.TlsSocketFactory> tls;
    private final Optional<Will> will;
    private final Listener listener;
    private final List<MqttSubscription> subscriptions = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService reconnector;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean connecting = new AtomicBoolean();
    private final AtomicInteger attempt = new AtomicInteger();
    private final RandomGenerator random = RandomGenerator.getDefault();
    private final Window window = new Window(SEND_WINDOW);
    /** Held while publishes leave {@link #waiting} for Paho, so they leave in queue order. */
    private final Object sendOrder = new Object();

    private final java.util.concurrent.ConcurrentLinkedDeque<Outgoing> waiting =
            new java.util.concurrent.ConcurrentLinkedDeque<>();
    /** Publishes handed to a Paho client and not yet acknowledged or failed. */
    private final java.util.Set<Sent> inFlight = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private volatile String lastFailure = "";
    /** A connect attempt under way, if any: {@link #close()} lets it finish before closing the client (Paho fails with a NullPointerException in its own thread otherwise). */
    private volatile IMqttToken connectInFlight;

    public MqttLink(MqttSettings settings, Optional<Will> will, Listener listener) {
        this.settings = settings;
        this.will = will;
        this.listener = listener;
        this.tls = settings.tls().map(TlsSocketFactories::create); // reads and checks the PEM files now
        PahoReadPatch.warnIfInactive();
        this.client = newClient();
        this.reconnector = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "mqtt-reconnect-" + settings.clientId());
            t.setDaemon(true);
            return t;
        });
    }

    private MqttAsyncClient newClient() {
        MqttAsyncClient c;
        try {
            c = new MqttAsyncClient(settings.url().pahoUri(), settings.clientId(), new MemoryPersistence());
        } catch (MqttException e) {
            throw new Failure("cannot use broker URL " + settings.url() + ": " + e.getMessage());
        }
        c.setCallback(new Callback(c));
        c.setManualAcks(listener instanceof AcknowledgingListener);
        return c;
    }

    /**
     * Before connecting again after a connection: a fresh Paho client, so that nothing of the old
     * connection (in-flight copies with its topic aliases) is sent on the new one; the publishes
     * the old client had not had acknowledged fail, for their callers to send again.
     */
    private void freshClientIfUsed() {
        if (!clientUsed) {
            return;
        }
        MqttAsyncClient old = client;
        client = newClient();
        clientUsed = false;
        IllegalStateException lost = new IllegalStateException(
                "connection to " + settings.url() + " lost before the broker acknowledged the publish");
        for (Sent s : inFlight) {
            if (s.via() == old) {
                settle(s, lost);
            }
        }
        try {
            if (!old.isConnected()) {
                old.close(true);
            } else {
                old.disconnectForcibly(0, 1_000, false);
                old.close(true);
            }
        } catch (MqttException e) {
            Logger.debug("closing the previous MQTT client: {}", e.toString());
        }
    }

    /** Adds a subscription, kept across reconnects. */
    public void subscribe(String filter, int qos) {
        MqttSubscription subscription = new MqttSubscription(filter, qos);
        subscriptions.add(subscription);
        if (client.isConnected()) {
            subscribeNow(List.of(subscription));
        }
    }

    /**
     * Connects once, now, and fails with one clear line if the broker cannot be reached; after
     * that the link reconnects by itself.
     */
    public void connect() {
        freshClientIfUsed();
        try {
            IMqttToken token = client.connect(options());
            connectInFlight = token;
            token.waitForCompletion(TimeUnit.SECONDS.toMillis(CONNECT_TIMEOUT_SECONDS + 5));
            sizeWindow(token);
            clientUsed = true;
            onConnected();
        } catch (MqttException e) {
            abandonIfStillConnecting(e);
            throw new Failure(describe(e), Failure.Kind.UNAVAILABLE, e);
        } finally {
            connectInFlight = null;
        }
    }

    /** Starts connecting in the background and keeps trying with backoff; never fails. */
    public void start() {
        scheduleReconnect(Duration.ZERO);
    }

    public boolean isConnected() {
        return client.isConnected();
    }

    /**
     * Publishes; the future completes when the broker has it (QoS 1: its PUBACK) and fails when
     * Paho cannot send it (not connected, connection lost before the acknowledgement). Publishes
     * beyond the send window ({@link #SEND_WINDOW} unacknowledged) wait in order for a free place
     * instead of failing.
     */
    public CompletableFuture<Void> publish(String topic, byte[] payload, int qos, boolean retained) {
        return publish(topic, payload, qos, retained, Optional.empty());
    }

    /** As above, with MQTT 5 correlation data (an answer to a message that carried it). */
    public CompletableFuture<Void> publish(
            String topic, byte[] payload, int qos, boolean retained, Optional<byte[]> correlationData) {
        return publish(topic, payload, qos, retained, new Reply(Optional.empty(), correlationData));
    }

    /** As above, asking for answers on {@code reply}'s MQTT 5 response topic, with its correlation data. */
    public CompletableFuture<Void> publish(String topic, byte[] payload, int qos, boolean retained, Reply reply) {
        Outgoing out = new Outgoing(topic, payload, qos, retained, reply, new CompletableFuture<>());
        waiting.add(out);
        drain();
        return out.done();
    }

    /**
     * The send window: at most {@link #SEND_WINDOW} publishes unacknowledged, fewer when the broker
     * says so (its CONNACK receive maximum): Paho refuses a publish beyond that and, in 1.2.5, does
     * not recover its in-flight count afterwards, so we must never ask.
     */
    private static final class Window extends java.util.concurrent.Semaphore {
        private static final long serialVersionUID = 1L;
        private int size;

        Window(int size) {
            super(size);
            this.size = size;
        }

        synchronized void resize(int newSize) {
            if (newSize < size) {
                reducePermits(size - newSize);
            } else if (newSize > size) {
                release(newSize - size);
            }
            size = newSize;
        }
    }

    /** A publish waiting for a place in the send window. */
    private record Outgoing(
            String topic, byte[] payload, int qos, boolean retained, Reply reply, CompletableFuture<Void> done) {}

    /**
     * A publish handed to Paho client {@code via}; {@code settled} once it holds no place in the
     * window any more (acknowledged, failed, or given up with its client), so that a second word
     * from Paho about it (Paho 1.2.5 fails an in-flight token when the connection dies and may
     * report it again later) never frees a second place.
     */
    private record Sent(Outgoing out, MqttAsyncClient via, AtomicBoolean settled) {}

    /** Frees the publish's place in the window and completes it (failed when {@code failure} is set), once. */
    private void settle(Sent s, Throwable failure) {
        if (!s.settled().compareAndSet(false, true)) {
            return;
        }
        inFlight.remove(s);
        window.release();
        if (failure == null) {
            s.out().done().complete(null);
        } else {
            s.out().done().completeExceptionally(failure);
        }
        drain();
    }

    /**
     * Sends waiting publishes while the window has room, in the order they were queued: several
     * threads drain (publishers, and Paho's callback thread when an acknowledgement frees a place),
     * and without the lock one could send a later publish before another sent an earlier one (a
     * device's receipts out of order; its newest challenge is the one it answers).
     */
    private void drain() {
        synchronized (sendOrder) {
            while (window.tryAcquire()) {
                Outgoing out = waiting.poll();
                if (out == null) {
                    window.release();
                    if (waiting.isEmpty()) {
                        return;
                    }
                    continue; // queued between the poll and the release
                }
                if (!send(out)) {
                    return; // Paho's window is full: a scheduled drain goes on
                }
            }
        }
    }

    /** Hands one publish to Paho; false when Paho's in-flight window was full and it went back to the queue. */
    private boolean send(Outgoing out) {
        MqttMessage message = new MqttMessage(out.payload());
        message.setQos(out.qos());
        message.setRetained(out.retained());
        if (out.reply().correlationData().isPresent()
                || out.reply().responseTopic().isPresent()) {
            MqttProperties properties = new MqttProperties();
            out.reply().correlationData().ifPresent(properties::setCorrelationData);
            out.reply().responseTopic().ifPresent(properties::setResponseTopic);
            message.setProperties(properties);
        }
        MqttAsyncClient c = client;
        Sent sent = new Sent(out, c, new AtomicBoolean());
        inFlight.add(sent);
        try {
            c.publish(out.topic(), message, null, new MqttActionListener() {
                @Override
                public void onSuccess(IMqttToken token) {
                    settle(sent, null);
                }

                @Override
                public void onFailure(IMqttToken token, Throwable exception) {
                    settle(sent, exception);
                }
            });
        } catch (MqttException e) {
            if (!sent.settled().compareAndSet(false, true)) {
                return true; // given up with its client meanwhile: failed already
            }
            inFlight.remove(sent);
            window.release();
            if (e.getReasonCode() == org.eclipse.paho.mqttv5.client.MqttClientException.REASON_CODE_MAX_INFLIGHT) {
                // The broker allows fewer than SEND_WINDOW: wait for an acknowledgement to free a place.
                waiting.addFirst(out);
                try {
                    reconnector.schedule(this::drain, 20, TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.RejectedExecutionException closedNow) {
                    out.done().completeExceptionally(e);
                }
                return false;
            } else {
                out.done().completeExceptionally(e);
            }
        }
        return true;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        IMqttToken attempt = connectInFlight; // before the reconnect thread is interrupted and lets go of it
        reconnector.shutdownNow();
        for (Outgoing out; (out = waiting.poll()) != null; ) {
            out.done().completeExceptionally(new IllegalStateException("link closed"));
        }
        if (attempt != null) {
            try {
                attempt.waitForCompletion(TimeUnit.SECONDS.toMillis(CONNECT_TIMEOUT_SECONDS + 5));
            } catch (MqttException e) {
                Logger.debug("connect attempt ended while closing: {}", e.toString());
            }
        }
        try {
            if (client.isConnected()) {
                client.disconnect(2_000).waitForCompletion(3_000);
            }
        } catch (MqttException e) {
            Logger.debug("disconnect from {}: {}", settings.url(), e.toString());
        }
        try {
            client.close(true);
        } catch (MqttException e) {
            Logger.debug("close MQTT client: {}", e.toString());
        }
        IllegalStateException closedNow = new IllegalStateException("link closed");
        for (Sent s : inFlight) {
            settle(s, closedNow);
        }
    }

    private MqttConnectionOptions options() {
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setCleanStart(settings.sessionExpiry().isZero());
        o.setSessionExpiryInterval(settings.sessionExpiry().toSeconds());
        o.setKeepAliveInterval((int) settings.keepAlive().toSeconds());
        o.setConnectionTimeout(CONNECT_TIMEOUT_SECONDS);
        o.setAutomaticReconnect(false);
        if (settings.maxPacketBytes() > 0) {
            o.setMaximumPacketSize(settings.maxPacketBytes());
        }
        o.setSocketFactory(tls.isPresent() ? tls.get() : PlainSocketFactory.INSTANCE);
        o.setHttpsHostnameVerificationEnabled(true);
        settings.username().ifPresent(o::setUserName);
        settings.password().ifPresent(p -> o.setPassword(p.getBytes(StandardCharsets.UTF_8)));
        will.ifPresent(w -> {
            MqttMessage message = new MqttMessage(w.payload());
            message.setQos(1);
            message.setRetained(w.retained());
            o.setWill(w.topic(), message);
        });
        return o;
    }

    /** Fits the send window to the broker's receive maximum, from its CONNACK. */
    private void sizeWindow(IMqttToken connect) {
        MqttProperties props = connect.getResponseProperties();
        Integer max = props == null ? null : props.getReceiveMaximum();
        int size = max == null || max <= 0 ? SEND_WINDOW : Math.min(SEND_WINDOW, max);
        window.resize(size);
    }

    private void onConnected() {
        attempt.set(0);
        lastFailure = "";
        if (!subscriptions.isEmpty()) {
            subscribeNow(subscriptions);
        }
        listener.onConnected();
    }

    private void subscribeNow(List<MqttSubscription> subs) {
        try {
            client.subscribe(subs.toArray(MqttSubscription[]::new)).waitForCompletion(10_000);
        } catch (MqttException e) {
            Logger.warn("subscribing to {} at {} failed: {}", subs, settings.url(), e.getMessage());
        }
    }

    private void scheduleReconnect(Duration delay) {
        if (closed.get() || !connecting.compareAndSet(false, true)) {
            return;
        }
        try {
            reconnector.schedule(this::tryConnect, delay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            connecting.set(false);
        }
    }

    private void tryConnect() {
        if (closed.get()) {
            connecting.set(false);
            return;
        }
        try {
            freshClientIfUsed();
            IMqttToken token = client.connect(options());
            connectInFlight = token;
            token.waitForCompletion(TimeUnit.SECONDS.toMillis(CONNECT_TIMEOUT_SECONDS + 5));
            connectInFlight = null;
            sizeWindow(token);
            clientUsed = true;
            connecting.set(false);
            Logger.info("connected to {}", settings.url());
            onConnected();
        } catch (MqttException e) {
            connectInFlight = null;
            connecting.set(false);
            if (closed.get()) {
                return; // closing: the attempt was cut short on purpose
            }
            abandonIfStillConnecting(e);
            String why = describe(e);
            Duration next = settings.backoff().delay(attempt.getAndIncrement(), random);
            if (!why.equals(lastFailure)) {
                Logger.warn("{}; retrying in {} ms (and with backoff after that)", why, next.toMillis());
            } else {
                Logger.debug("{}; retrying in {} ms", why, next.toMillis());
            }
            lastFailure = why;
            scheduleReconnect(next);
        }
    }

    /**
     * After a connect that timed out on our side, Paho still has it in progress: a broker that took
     * the TCP connection but never sent CONNACK (busy handing our session to another client, or a
     * middlebox that ate it) leaves the client refusing every later attempt with "Connect already
     * in progress" for ever. Abandon it: a forcible disconnect without DISCONNECT resets Paho's
     * connection state and closes the socket, and the next attempt starts afresh.
     */
    private void abandonIfStillConnecting(MqttException e) {
        int code = e.getReasonCode();
        if (code != org.eclipse.paho.mqttv5.client.MqttClientException.REASON_CODE_CLIENT_TIMEOUT
                && code != org.eclipse.paho.mqttv5.client.MqttClientException.REASON_CODE_CONNECT_IN_PROGRESS) {
            return;
        }
        try {
            client.disconnectForcibly(0, 1_000, false);
        } catch (MqttException stuck) {
            Logger.debug("abandoning the connect attempt to {}: {}", settings.url(), stuck.toString());
        }
    }

    /** One line saying why a connection failed and what to check. */
    String describe(MqttException e) {
        Throwable cause = e.getCause();
        String where = "broker " + settings.url();
        Optional<String> tlsFailure = tls.flatMap(f -> f.explain(e));
        if (tlsFailure.isPresent()) {
            return where + ": " + tlsFailure.get();
        }
        if (cause instanceof ConnectException) {
            return where + " refused the connection: is the broker running, and is the URL (--broker) right?";
        }
        if (cause instanceof UnknownHostException) {
            return where + ": unknown host '" + settings.url().host() + "': check the host name in --broker";
        }
        if (cause instanceof java.net.SocketTimeoutException
                || e.getReasonCode() == org.eclipse.paho.mqttv5.client.MqttClientException.REASON_CODE_CLIENT_TIMEOUT) {
            return where + " did not answer within " + CONNECT_TIMEOUT_SECONDS + " s: check the network and --broker";
        }
        if (cause instanceof javax.net.ssl.SSLException) {
            return where + ": TLS handshake failed (" + cause.getMessage()
                    + "): check the CA and client certificate files";
        }
        int code = e.getReasonCode();
        if (code == 0x86 || code == 0x87) {
            return where + " refused our credentials (reason " + code
                    + "): check the username/password or client certificate";
        }
        return where + ": " + (e.getMessage() == null ? e.toString() : e.getMessage())
                + (cause != null && cause != e ? " (" + cause.getMessage() + ")" : "");
    }

    private static void acknowledge(MqttAsyncClient via, int messageId, int qos) {
        if (qos == 0) {
            return;
        }
        try {
            via.messageArrivedComplete(messageId, qos);
        } catch (MqttException e) {
            // Not connected any more: the broker sends the message again after reconnecting.
            Logger.debug("ack of message {} not sent: {}", messageId, e.getMessage());
        }
    }

    /** Paho's callbacks for one client: a client given up (replaced) is not heard any more. */
    private final class Callback implements MqttCallback {
        private final MqttAsyncClient via;

        Callback(MqttAsyncClient via) {
            this.via = via;
        }

        @Override
        public void disconnected(MqttDisconnectResponse response) {
            String reason = response.getException() != null
                    ? response.getException().getMessage()
                    : String.valueOf(response.getReasonString());
            if (closed.get() || via != client) {
                return;
            }
            Logger.warn("lost connection to {}: {}; reconnecting", settings.url(), reason);
            listener.onConnectionLost(reason);
            scheduleReconnect(settings.backoff().delay(attempt.getAndIncrement(), random));
        }

        @Override
        public void mqttErrorOccurred(MqttException exception) {
            Logger.warn("MQTT error from {}: {}", settings.url(), exception.getMessage());
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) {
            try {
                if (listener instanceof AcknowledgingListener acking) {
                    int id = message.getId();
                    int qos = message.getQos();
                    MqttProperties p = message.getProperties();
                    Reply reply = p == null
                            ? Reply.NONE
                            : new Reply(
                                    Optional.ofNullable(p.getResponseTopic()),
                                    Optional.ofNullable(p.getCorrelationData()));
                    acking.onMessage(topic, message.getPayload(), reply, () -> acknowledge(via, id, qos));
                } else {
                    listener.onMessage(topic, message.getPayload());
                }
            } catch (RuntimeException e) {
                Logger.error(e, "handling a message on {} failed", topic);
            }
        }

        @Override
        public void deliveryComplete(IMqttToken token) {}

        @Override
        public void connectComplete(boolean reconnect, String serverUri) {}

        @Override
        public void authPacketArrived(int reasonCode, MqttProperties properties) {}
    }
}
