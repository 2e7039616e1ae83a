package dev.prospector.agent.measure;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.prospector.attest.BandwidthReceipt;
import dev.prospector.attest.BandwidthReceipt.Direction;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Limits;
import dev.prospector.attest.Sha256;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.LongSupplier;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.tinylog.Logger;

/**
 * A bandwidth measurement endpoint: plain HTTP/1.1 (the JDK's server) that moves bytes to and from
 * a board and signs what it measured as a {@link BandwidthReceipt} with its own Ed25519 key. The
 * protocol is in docs/REWARDS.md ("Bandwidth"):
 *
 * <pre>
 * GET  /v1/down?dev=D&amp;nonce=N&amp;bytes=B  -> 200, X-Prospector-Session, B bytes of AES/CTR keystream
 * POST /v1/down/&lt;session&gt;   body: SHA-256 of what was received (32 bytes) -> signed receipt (down)
 * POST /v1/up?dev=D&amp;nonce=N     body: B bytes -> signed receipt (up, bytes counted here)
 * GET  /v1/ping?dev=D&amp;nonce=N  -> 200, X-Prospector-Session;  POST /v1/ping/&lt;session&gt; -> receipt (rtt)
 * GET  /v1/key                   -> the endpoint key's id
 * </pre>
 *
 * <h2>Why the board cannot inflate its figures</h2>
 * The endpoint counts the bytes and keeps the time itself, on its own monotonic clock; the board
 * only moves bytes. Downloads are a keystream under a fresh random key per session, so the board
 * cannot answer the digest without receiving every byte (nor precompute it, nor share one download
 * between tests); the timer runs from just before the first byte is written to the arrival of the
 * digest, so a board that answers early fails the digest and one that answers late only lowers its
 * figure. Uploads are counted as they are read, timed from the request's arrival (when its
 * headers are read, before any of its body) to the last byte: bytes that waited in the socket's
 * buffer before the handler ran are then read at once, which could only flatter an upload as large
 * as that buffer, so the figure is capped by the verifier (1000 Mbit/s, and the board's own link
 * speed) and boards upload several MiB. A receipt names
 * the device and the challenge nonce, so it cannot be moved to another device or another test (the
 * verifier checks both), and it is signed, so the board cannot edit it. What a board can do is
 * measure itself slowly, which only hurts it.
 *
 * <h2>Limits</h2>
 * Every input is bounded: B at most {@link Settings#maxBytes} (400 otherwise); at most
 * {@link Settings#maxSessions} sessions (open downloads, uploads and pings) at once (503 with
 * Retry-After); at most {@link Settings#testsPerDevicePerMinute} tests per device id per minute
 * (429); a session is answered within {@link Settings#sessionTtl} or forgotten (404); the bodies of
 * /down/&lt;s&gt; and /ping/&lt;s&gt; are at most 64 bytes; an upload above B's maximum is cut off
 * with 413; query strings and paths are at most 512 characters. The per-device rate is per claimed
 * device id: anyone may spend a device's budget for the minute (an endpoint is public), which delays
 * that device's test, never inflates anyone's figure.
 */
public final class MeasureEndpoint implements AutoCloseable {
    /** Header naming a download's or ping's session. */
    public static final String SESSION_HEADER = "X-Prospector-Session";

    public static final long DEFAULT_MAX_BYTES = 64L << 20;
    static final int MAX_SMALL_BODY = 64;
    static final int MAX_URI_CHARS = 512;
    private static final int CHUNK = 64 * 1024;
    /**
     * The keystream is made in slices of this many bytes. The JIT uses the AES/CTR intrinsic only
     * once the cipher's callers are compiled by C2, which takes thousands of calls: in 64 KiB calls
     * a freshly started endpoint ran the keystream in plain Java for hundreds of MiB, its largest
     * cost per byte (docs/BENCHMARKS.md, "Measurement endpoint against iperf3"); in 4 KiB slices
     * the intrinsic takes over within the first 64 MiB download.
     */
    private static final int KEYSTREAM_SLICE = 4 * 1024;
    /** Bound on the device ids remembered for the rate limit (beyond it, new devices get 503). */
    static final int MAX_RATE_ENTRIES = 100_000;

    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * How to run an endpoint.
     *
     * @param bind where to listen (loopback by default; a real deployment binds its public address)
     * @param port 0 for a free port
     */
    public record Settings(
            String bind, int port, long maxBytes, int maxSessions, int testsPerDevicePerMinute, Duration sessionTtl) {
        public Settings {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port " + port + " is out of range 0..65535");
            }
            if (maxBytes < 1 || maxBytes > (1L << 40)) {
                throw new IllegalArgumentException("the largest transfer must be 1 byte to 1 TiB, not " + maxBytes);
            }
            if (maxSessions < 1 || testsPerDevicePerMinute < 1 || sessionTtl.isNegative() || sessionTtl.isZero()) {
                throw new IllegalArgumentException(
                        "sessions, tests per minute and the session lifetime must be positive");
            }
        }

        /** The protocol's defaults on {@code bind:port}. */
        public static Settings of(String bind, int port) {
            return new Settings(bind, port, DEFAULT_MAX_BYTES, 8, 6, Duration.ofSeconds(60));
        }

        public Settings withMaxBytes(long bytes) {
            return new Settings(bind, port, bytes, maxSessions, testsPerDevicePerMinute, sessionTtl);
        }
    }

    /** A download or ping waiting for its second request, or an upload being read. */
    private static final class Session {
        final DeviceId device;
        final byte[] nonce;
        final Direction direction;
        final long bytes;
        final long createdNanos;
        volatile long startNanos;
        volatile byte[] digest; // set when a download's body is written

        Session(DeviceId device, byte[] nonce, Direction direction, long bytes, long now) {
            this.device = device;
            this.nonce = nonce;
            this.direction = direction;
            this.bytes = bytes;
            this.createdNanos = now;
            this.startNanos = now;
        }
    }

    /** A refused request: its status and one-line reason. */
    private static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;
        final int status;

        Refused(int status, String reason) {
            super(reason, null, false, false);
            this.status = status;
        }
    }

    private final Settings settings;
    private final DeviceKeys key;
    private final Clock clock;
    private final LongSupplier nanos;
    private final HttpServer server;
    private final ExecutorService executor;

    @GuardedBy("this")
    private final Map<String, Session> sessions = new HashMap<>();

    @GuardedBy("this")
    private int uploads;

    @GuardedBy("this")
    private final Map<DeviceId, Deque<Long>> recentTests = new LinkedHashMap<>();

    private MeasureEndpoint(Settings settings, DeviceKeys key, Clock clock, LongSupplier nanos) throws IOException {
        this.settings = settings;
        this.key = key;
        this.clock = clock;
        this.nanos = nanos;
        this.server = HttpServer.create(new InetSocketAddress(settings.bind(), settings.port()), 64);
        this.executor = Executors.newFixedThreadPool(settings.maxSessions() + 4, r -> {
            Thread t = new Thread(r, "measure-endpoint");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/v1/", this::handle);
    }

    /**
     * Starts an endpoint signing with {@code key}. {@code clock} stamps receipts ({@code at});
     * {@code nanos} (e.g. {@code System::nanoTime}) times transfers and sessions.
     */
    public static MeasureEndpoint start(Settings settings, DeviceKeys key, Clock clock, LongSupplier nanos)
            throws IOException {
        MeasureEndpoint e = new MeasureEndpoint(settings, key, clock, nanos);
        e.server.start();
        Logger.info("measurement endpoint listening on {}:{}, key {}", settings.bind(), e.port(), key.deviceId());
        return e;
    }

    /** Starts an endpoint on the system clocks. */
    public static MeasureEndpoint start(Settings settings, DeviceKeys key) throws IOException {
        return start(settings, key, Clock.systemUTC(), System::nanoTime);
    }

    /** The port it listens on (the free one chosen for port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    /** The key that signs its receipts. */
    public byte[] publicKey() {
        return key.publicKey();
    }

    public DeviceId keyId() {
        return key.deviceId();
    }

    /** Base URL, e.g. {@code http://127.0.0.1:41234}, for boards' --measure-endpoint. */
    public String url() {
        String host = settings.bind().contains(":") ? "[" + settings.bind() + "]" : settings.bind();
        return "http://" + host + ":" + port();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    // ------------------------------------------------------------------ requests

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            try {
                route(x);
            } catch (Refused r) {
                if (r.status == 503) {
                    x.getResponseHeaders().set("Retry-After", "5");
                }
                reply(
                        x,
                        r.status,
                        "text/plain; charset=utf-8",
                        (r.getMessage() + "\n").getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                Logger.debug("measurement request from {} failed: {}", x.getRemoteAddress(), e.getMessage());
            } catch (RuntimeException e) {
                Logger.error(e, "measurement request failed");
                try {
                    reply(x, 500, "text/plain; charset=utf-8", "internal error\n".getBytes(StandardCharsets.UTF_8));
                } catch (IOException | RuntimeException ignored) {
                    // the response had already started
                }
            }
        }
    }

    private void route(HttpExchange x) throws IOException, Refused {
        String path = x.getRequestURI().getRawPath();
        String query = x.getRequestURI().getRawQuery();
        if (path.length() > MAX_URI_CHARS || (query != null && query.length() > MAX_URI_CHARS)) {
            throw new Refused(400, "request line too long");
        }
        String method = x.getRequestMethod();
        if (path.equals("/v1/key") && method.equals("GET")) {
            reply(x, 200, "text/plain", (key.deviceId().value() + "\n").getBytes(StandardCharsets.US_ASCII));
        } else if (path.equals("/v1/down") && method.equals("GET")) {
            download(x, query);
        } else if (path.startsWith("/v1/down/") && method.equals("POST")) {
            finishDownload(x, path.substring("/v1/down/".length()));
        } else if (path.equals("/v1/up") && method.equals("POST")) {
            upload(x, query);
        } else if (path.equals("/v1/ping") && method.equals("GET")) {
            ping(x, query);
        } else if (path.startsWith("/v1/ping/") && method.equals("POST")) {
            finishPing(x, path.substring("/v1/ping/".length()));
        } else {
            throw new Refused(404, "no such resource: " + method + " " + path);
        }
    }

    private void download(HttpExchange x, String query) throws IOException, Refused {
        Map<String, String> q = query(query);
        DeviceId device = device(q);
        byte[] nonce = nonce(q);
        long bytes = bytes(q);
        Session s = new Session(device, nonce, Direction.DOWN, bytes, nanos.getAsLong());
        String id = open(s);
        Cipher ctr = keystream();
        MessageDigest sha = Sha256.newDigest();
        x.getResponseHeaders().set(SESSION_HEADER, id);
        x.getResponseHeaders().set("Content-Type", "application/octet-stream");
        x.getResponseHeaders().set("Cache-Control", "no-store");
        s.startNanos = nanos.getAsLong();
        x.sendResponseHeaders(200, bytes);
        byte[] zeros = new byte[(int) Math.min(CHUNK, bytes)];
        byte[] out = new byte[zeros.length];
        long left = bytes;
        try (OutputStream body = x.getResponseBody()) {
            while (left > 0) {
                int n = (int) Math.min(zeros.length, left);
                try {
                    for (int at = 0; at < n; at += KEYSTREAM_SLICE) {
                        ctr.update(zeros, at, Math.min(KEYSTREAM_SLICE, n - at), out, at);
                    }
                } catch (GeneralSecurityException e) {
                    throw new IllegalStateException("AES/CTR failed", e);
                }
                sha.update(out, 0, n);
                left -= n;
                if (left == 0) {
                    // Known before the last byte leaves: the board may answer the moment it arrives.
                    s.digest = sha.digest();
                }
                body.write(out, 0, n);
            }
        } catch (IOException e) {
            close(id);
            throw e;
        }
    }

    private void finishDownload(HttpExchange x, String id) throws IOException, Refused {
        long arrived = nanos.getAsLong();
        byte[] digest = smallBody(x);
        Session s = take(id, Direction.DOWN);
        byte[] expected = s.digest;
        if (expected == null) {
            throw new Refused(400, "the download of session " + id + " did not finish");
        }
        if (digest.length != 32 || !MessageDigest.isEqual(expected, digest)) {
            throw new Refused(400, "wrong digest: the body must be the 32-byte SHA-256 of the bytes downloaded");
        }
        signed(x, s, s.bytes, arrived - s.startNanos);
    }

    private void upload(HttpExchange x, String query) throws IOException, Refused {
        Map<String, String> q = query(query);
        DeviceId device = device(q);
        byte[] nonce = nonce(q);
        String length = x.getRequestHeaders().getFirst("Content-Length");
        if (length != null) {
            try {
                if (Long.parseLong(length.trim()) > settings.maxBytes()) {
                    throw new Refused(413, "an upload is at most " + settings.maxBytes() + " bytes");
                }
            } catch (NumberFormatException e) {
                throw new Refused(400, "Content-Length is not a number");
            }
        }
        long first = nanos.getAsLong(); // the request's arrival: never later than its first body byte's read
        Session s = new Session(device, nonce, Direction.UP, 0, first);
        String id = open(s);
        long count = 0;
        long last = first;
        try (InputStream in = x.getRequestBody()) {
            byte[] buf = new byte[CHUNK];
            while (true) {
                int n = in.read(buf);
                if (n < 0) {
                    break;
                }
                if (n == 0) {
                    continue;
                }
                last = nanos.getAsLong();
                count += n;
                if (count > settings.maxBytes()) {
                    throw new Refused(413, "an upload is at most " + settings.maxBytes() + " bytes");
                }
            }
        } finally {
            close(id);
        }
        if (count == 0) {
            throw new Refused(400, "an upload needs a body");
        }
        // From the request's arrival to the last byte read.
        signed(x, s, count, Math.max(last - first, 1_000));
    }

    private void ping(HttpExchange x, String query) throws IOException, Refused {
        Map<String, String> q = query(query);
        Session s = new Session(device(q), nonce(q), Direction.RTT, 0, nanos.getAsLong());
        String id = open(s);
        x.getResponseHeaders().set(SESSION_HEADER, id);
        x.getResponseHeaders().set("Cache-Control", "no-store");
        s.startNanos = nanos.getAsLong();
        x.sendResponseHeaders(200, -1);
    }

    private void finishPing(HttpExchange x, String id) throws IOException, Refused {
        long arrived = nanos.getAsLong();
        smallBody(x);
        Session s = take(id, Direction.RTT);
        signed(x, s, 0, arrived - s.startNanos);
    }

    private void signed(HttpExchange x, Session s, long bytes, long elapsedNanos) throws IOException {
        var receipt = new BandwidthReceipt(
                s.device,
                s.nonce,
                s.direction,
                bytes,
                Duration.ofNanos(Math.max(elapsedNanos, 1_000)),
                clock.instant());
        Logger.debug("measured {}", receipt);
        reply(x, 200, "application/cose", receipt.sign(key));
    }

    // ------------------------------------------------------------------ sessions and limits

    /** Registers a session, within the limits; its id. */
    private synchronized String open(Session s) throws Refused {
        prune(s.createdNanos);
        if (sessions.size() + uploads >= settings.maxSessions()) {
            throw new Refused(503, "busy: " + settings.maxSessions() + " tests are running; try again shortly");
        }
        Deque<Long> times = recentTests.get(s.device);
        if (times == null) {
            if (recentTests.size() >= MAX_RATE_ENTRIES) {
                throw new Refused(503, "busy: too many devices tested in the last minute");
            }
            times = new ArrayDeque<>();
            recentTests.put(s.device, times);
        }
        if (times.size() >= settings.testsPerDevicePerMinute()) {
            throw new Refused(
                    429,
                    "at most " + settings.testsPerDevicePerMinute() + " tests per device per minute; try again later");
        }
        times.addLast(s.createdNanos);
        if (s.direction == Direction.UP) {
            uploads++;
            return "";
        }
        byte[] raw = new byte[16];
        RANDOM.nextBytes(raw);
        String id = HexFormat.of().formatHex(raw);
        sessions.put(id, s);
        return id;
    }

    private synchronized void close(String id) {
        if (id.isEmpty()) {
            uploads--;
        } else {
            sessions.remove(id);
        }
    }

    /** The session {@code id} of {@code direction}, removed: it gives one receipt. */
    private synchronized Session take(String id, Direction direction) throws Refused {
        prune(nanos.getAsLong());
        Session s = sessions.get(id);
        if (s == null || s.direction != direction) {
            throw new Refused(
                    404,
                    "no such session (unknown, used, or older than "
                            + settings.sessionTtl().toSeconds() + " s)");
        }
        sessions.remove(id);
        return s;
    }

    @GuardedBy("this")
    private void prune(long now) {
        long ttl = settings.sessionTtl().toNanos();
        sessions.values().removeIf(s -> now - s.createdNanos > ttl);
        long minute = Duration.ofMinutes(1).toNanos();
        for (Iterator<Deque<Long>> it = recentTests.values().iterator(); it.hasNext(); ) {
            Deque<Long> times = it.next();
            while (!times.isEmpty() && now - times.peekFirst() >= minute) {
                times.removeFirst();
            }
            if (times.isEmpty()) {
                it.remove();
            }
        }
    }

    /** Sessions open now (for tests). */
    synchronized int openSessions() {
        return sessions.size() + uploads;
    }

    // ------------------------------------------------------------------ parsing

    private static Map<String, String> query(String raw) throws Refused {
        Map<String, String> out = new HashMap<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String pair : raw.split("&", 8)) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw new Refused(400, "malformed query parameter " + pair);
            }
            try {
                out.put(
                        URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                throw new Refused(400, "malformed query parameter " + pair);
            }
        }
        return out;
    }

    private static DeviceId device(Map<String, String> q) throws Refused {
        String dev = q.get("dev");
        if (dev == null || !DeviceId.isValid(dev)) {
            throw new Refused(400, "dev must be a device id");
        }
        return new DeviceId(dev);
    }

    private static byte[] nonce(Map<String, String> q) throws Refused {
        String hex = q.get("nonce");
        if (hex == null || hex.isEmpty() || hex.length() % 2 != 0 || hex.length() > 2 * Limits.MAX_NONCE_BYTES) {
            throw new Refused(400, "nonce must be 1 to " + Limits.MAX_NONCE_BYTES + " bytes of lowercase hex");
        }
        try {
            return HexFormat.of().parseHex(hex);
        } catch (IllegalArgumentException e) {
            throw new Refused(400, "nonce must be lowercase hex");
        }
    }

    private long bytes(Map<String, String> q) throws Refused {
        String text = Optional.ofNullable(q.get("bytes")).orElse("");
        long b;
        try {
            b = text.length() > 19 ? -1 : Long.parseLong(text);
        } catch (NumberFormatException e) {
            b = -1;
        }
        if (b < 1 || b > settings.maxBytes()) {
            throw new Refused(400, "bytes must be 1 to " + settings.maxBytes());
        }
        return b;
    }

    private static byte[] smallBody(HttpExchange x) throws IOException, Refused {
        try (InputStream in = x.getRequestBody()) {
            byte[] body = in.readNBytes(MAX_SMALL_BODY + 1);
            if (body.length > MAX_SMALL_BODY) {
                throw new Refused(400, "body larger than " + MAX_SMALL_BODY + " bytes");
            }
            return body;
        }
    }

    private static void reply(HttpExchange x, int status, String type, byte[] body) throws IOException {
        x.getResponseHeaders().set("Content-Type", type);
        x.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            try (OutputStream out = x.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private static Cipher keystream() {
        try {
            byte[] k = new byte[16];
            byte[] iv = new byte[16];
            RANDOM.nextBytes(k);
            Cipher c = Cipher.getInstance("AES/CTR/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(k, "AES"), new IvParameterSpec(iv));
            return c;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/CTR is required by every JDK", e);
        }
    }
}
