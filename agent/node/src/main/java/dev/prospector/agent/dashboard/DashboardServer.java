package dev.prospector.agent.dashboard;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.prospector.agent.common.Failure;
import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.AgentWiring;
import io.nayuki.qrcodegen.QrCode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * The board's dashboard: a page, a JSON API and Prometheus metrics, served read-only by the JDK's
 * own HTTP server ({@code com.sun.net.httpserver}, no framework).
 *
 * <h2>Routes</h2>
 * {@code /} the page (with {@code /app.js}, {@code /app.css} and {@code /qr.svg}, the device id as
 * a QR code), {@code /api/status}, {@code /api/reports}, {@code /api/hardware}, {@code /metrics},
 * {@code /login}. Paths are matched exactly as sent, never mapped to files: anything else, and
 * any path with {@code ..}, {@code %} or a backslash, is 404 or 400. GET and HEAD only, but for
 * the login form's POST.
 *
 * <h2>Attacks</h2>
 * A bound on everything a client sends: request headers ({@link #MAX_HEADER_BYTES}, and the JDK's
 * own {@code sun.net.httpserver.maxReqHeaders}/{@code maxReqHeaderSize}, set here), bodies (none
 * but the login form's, {@link #MAX_LOGIN_BODY} bytes), time to send a request
 * ({@code sun.net.httpserver.maxReqTime}: a slowloris connection is closed), idle keep-alive
 * connections. At most {@link #THREADS} handler threads, none while idle; a handler never waits on the node (it reads counters). On a
 * LAN address every route but {@code /login} and {@code /app.css} (and {@code /metrics} when
 * opened) needs a session cookie from a login, or HTTP Basic with the password; logins are rate
 * limited ({@link LoginGuard}).
 *
 * <h2>Cost</h2>
 * Idle, the server is the JDK's selector thread asleep in {@code select} (and its two timer
 * threads) and a sampler, run on the agent's report thread, that notes
 * every {@link #SAMPLE_EVERY} whether the broker is connected (for the uptime chart); the page,
 * script and QR code are built once.
 */
public final class DashboardServer implements AutoCloseable {
    static final int MAX_HEADER_BYTES = 16 * 1024;
    static final int MAX_HEADERS = 64;
    static final int MAX_LOGIN_BODY = 1024;
    static final Duration REQUEST_TIME = Duration.ofSeconds(5);
    /**
     * Handler threads at most, made on demand and ended after {@link #THREAD_IDLE} unused (none while
     * nobody reads the page). The JDK server reads a request's headers on a handler thread, so a
     * slowloris connection holds one until {@link #REQUEST_TIME} closes it; beyond this many such
     * connections, requests queue, and one that waits past the request time is closed too.
     */
    static final int THREADS = 32;

    static final Duration THREAD_IDLE = Duration.ofSeconds(30);

    static final Duration SESSION_LIFE = Duration.ofHours(12);
    static final int MAX_SESSIONS = 32;
    static final Duration SAMPLE_EVERY = Duration.ofSeconds(5);
    /** The session cookie's name. */
    public static final String COOKIE = "prospector_session";

    private final HttpServer server;
    private final ExecutorService handlers;
    /** The sampler, on the agent's report thread ({@link AgentNode#every}): no thread of its own. */
    private final java.util.concurrent.ScheduledFuture<?> sampler;

    private final StatusView view;
    private final DashboardSettings settings;
    private final Optional<PasswordHash> password;
    private final LoginGuard guard;
    private final Clock clock;
    private final byte[] page;
    private final byte[] loginPage;
    private final byte[] script;
    private final byte[] style;
    private final byte[] qr;
    private final SecureRandom random = new SecureRandom();
    /** The session of this board's own {@code prospector status}; null without a login. */
    @com.google.errorprone.annotations.concurrent.GuardedBy("this")
    private String localSession;
    /** Session tokens (hex) and when they expire; the oldest dropped beyond {@link #MAX_SESSIONS}. */
    private final Map<String, Instant> sessions = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Instant> eldest) {
            return size() > MAX_SESSIONS;
        }
    };

    private DashboardServer(
            HttpServer server, AgentNode node, BoardRecord record, DashboardSettings settings, Clock clock) {
        this.server = server;
        this.settings = settings;
        this.clock = clock;
        this.view = new StatusView(node, record, clock);
        this.password = settings.needsLogin() ? settings.passwordHash().map(PasswordHash::parse) : Optional.empty();
        this.guard = new LoginGuard(clock);
        this.page = resource("page.html");
        this.loginPage = resource("login.html");
        this.script = resource("app.js");
        this.style = resource("app.css");
        this.qr = qrSvg(node.device()).getBytes(StandardCharsets.UTF_8);
        java.util.concurrent.ThreadPoolExecutor pool = new java.util.concurrent.ThreadPoolExecutor(
                THREADS,
                THREADS,
                THREAD_IDLE.toMillis(),
                TimeUnit.MILLISECONDS,
                new java.util.concurrent.LinkedBlockingQueue<>(),
                r -> daemon(r, "dashboard"));
        pool.allowCoreThreadTimeOut(true);
        this.handlers = pool;
        server.setExecutor(handlers);
        server.createContext("/", this::handle);
        this.sampler = node.every(
                SAMPLE_EVERY, () -> record.sample(clock.instant(), node.stats().connected()));
    }

    /**
     * Starts the dashboard of {@code node} as {@code settings} say (call before {@code node.start()}
     * so that it sees the first report); empty when the port is 0.
     *
     * @throws Failure when the address is refused (a LAN address without a password) or the port is
     *     taken
     */
    public static Optional<DashboardServer> start(AgentNode node, DashboardSettings settings, Clock clock) {
        return start(node, settings, clock, Optional.empty());
    }

    /**
     * As above; when the dashboard needs a login, also writes a session token for this board's own
     * {@code prospector status} to {@code localToken} (mode 0600, replaced at each start), so that
     * the command can read the API without the password.
     */
    public static Optional<DashboardServer> start(
            AgentNode node, DashboardSettings settings, Clock clock, Optional<java.nio.file.Path> localToken) {
        if (!settings.enabled()) {
            return Optional.empty();
        }
        return Optional.of(
                start(node, settings, new InetSocketAddress(settings.address(), settings.port()), clock, localToken));
    }

    /** On 127.0.0.1, on a free port (the demo's boards, tests): see {@link #url()}. */
    public static DashboardServer startOnFreePort(AgentNode node, Clock clock) {
        return start(
                node,
                DashboardSettings.loopback(DashboardSettings.DEFAULT_PORT),
                new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0),
                clock,
                Optional.empty());
    }

    private static DashboardServer start(
            AgentNode node,
            DashboardSettings settings,
            InetSocketAddress at,
            Clock clock,
            Optional<java.nio.file.Path> localToken) {
        limitTheJdkServer();
        BoardRecord record = new BoardRecord(AgentWiring.EPOCH_LENGTH, clock.instant());
        node.observe(record);
        HttpServer http;
        try {
            http = HttpServer.create(at, 16);
        } catch (BindException e) {
            throw new Failure(
                    "--dashboard-port " + settings.port() + ": cannot listen on " + settings.bind() + ":"
                            + settings.port() + " (" + e.getMessage()
                            + "): another program uses it; pick another port, or 0 to turn the dashboard off",
                    Failure.Kind.UNAVAILABLE);
        } catch (IOException e) {
            throw new Failure("dashboard: cannot listen on " + at + ": " + e.getMessage(), Failure.Kind.UNAVAILABLE);
        }
        DashboardServer d = new DashboardServer(http, node, record, settings, clock);
        if (d.password.isPresent() && localToken.isPresent()) {
            d.writeLocalToken(localToken.get());
        }
        http.start();
        Logger.info(
                "dashboard at {}{}",
                d.url(),
                d.password.isPresent()
                        ? " (password required" + (settings.metricsOpen() ? "; /metrics open" : "") + ")"
                        : "");
        return d;
    }

    /** A session that never expires, for {@code prospector status} on this board, in a file only its owner reads. */
    private void writeLocalToken(java.nio.file.Path file) {
        byte[] t = new byte[32];
        random.nextBytes(t);
        String token = HexFormat.of().formatHex(t);
        try {
            java.nio.file.Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            java.nio.file.Files.deleteIfExists(tmp);
            java.nio.file.Files.createFile(
                    tmp,
                    java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
            java.nio.file.Files.writeString(tmp, token + "\n", StandardCharsets.US_ASCII);
            java.nio.file.Files.move(
                    tmp,
                    file,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | UnsupportedOperationException e) {
            Logger.warn(
                    "dashboard: cannot write {} ({}): `prospector status` will need the password", file, e.toString());
            return;
        }
        synchronized (this) {
            localSession = token;
        }
    }

    /** The page's address, e.g. http://127.0.0.1:8470/ (the bound port when 0 was... never: 0 is off). */
    public String url() {
        InetSocketAddress a = server.getAddress();
        String host = a.getAddress().isAnyLocalAddress()
                ? "127.0.0.1"
                : a.getAddress().getHostAddress();
        if (host.contains(":")) {
            host = "[" + host + "]";
        }
        return "http://" + host + ":" + a.getPort() + "/";
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /**
     * The JDK server's own bounds, read once when its first server is made: time to send a request,
     * header count and size, idle connections. A value the operator set (-D) is kept.
     */
    static void limitTheJdkServer() {
        setIfAbsent("sun.net.httpserver.maxReqTime", Long.toString(REQUEST_TIME.toSeconds()));
        setIfAbsent("sun.net.httpserver.maxRspTime", "30");
        setIfAbsent("sun.net.httpserver.maxReqHeaders", Integer.toString(MAX_HEADERS));
        setIfAbsent("sun.net.httpserver.maxReqHeaderSize", Integer.toString(MAX_HEADER_BYTES));
        setIfAbsent("sun.net.httpserver.idleInterval", "30");
        setIfAbsent("sun.net.httpserver.maxIdleConnections", "16");
        // A body left unread (a refused upload) is not drained, which would hold a handler thread
        // while the client sends nothing: the connection is closed instead.
        setIfAbsent("sun.net.httpserver.drainAmount", "0");
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    private static byte[] resource(String name) {
        try (InputStream in = DashboardServer.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("dashboard resource " + name + " missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The device id as a QR code (medium error correction), an SVG of dark modules on white. */
    static String qrSvg(String text) {
        QrCode q = QrCode.encodeText(text, QrCode.Ecc.MEDIUM);
        int border = 4; // the quiet zone the QR standard asks for
        int n = q.size + 2 * border;
        StringBuilder path = new StringBuilder();
        for (int y = 0; y < q.size; y++) {
            for (int x = 0; x < q.size; x++) {
                if (q.getModule(x, y)) {
                    path.append('M')
                            .append(x + border)
                            .append(',')
                            .append(y + border)
                            .append("h1v1h-1z");
                }
            }
        }
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + n + " " + n
                + "\" shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\""
                + path + "\" fill=\"#000\"/></svg>";
    }

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            route(x);
        } catch (IOException | RuntimeException e) {
            Logger.debug(
                    "dashboard: {} {}: {}",
                    x.getRequestMethod(),
                    x.getRequestURI().getRawPath(),
                    e.toString());
        }
    }

    private void route(HttpExchange x) throws IOException {
        String method = x.getRequestMethod();
        String path = x.getRequestURI().getRawPath();
        if (headerBytes(x.getRequestHeaders()) > MAX_HEADER_BYTES) {
            send(x, 431, "text/plain", "request headers too large\n");
            return;
        }
        if (path == null || path.contains("..") || path.contains("%") || path.contains("\\") || path.contains("//")) {
            send(x, 400, "text/plain", "bad path\n");
            return;
        }
        boolean login = path.equals("/login");
        boolean post = method.equals("POST");
        if (!(method.equals("GET") || method.equals("HEAD") || (post && login))) {
            x.getResponseHeaders().set("Allow", login ? "GET, HEAD, POST" : "GET, HEAD");
            send(x, 405, "text/plain", "read-only: GET and HEAD only\n");
            return;
        }
        if (!post && (x.getRequestHeaders().containsKey("Transfer-Encoding") || contentLength(x) > 0)) {
            send(x, 413, "text/plain", "no request body expected\n");
            return;
        }
        if (login) {
            login(x, post);
            return;
        }
        if (!path.equals("/app.css") && !(path.equals("/metrics") && settings.metricsOpen()) && !allowed(x)) {
            if (path.equals("/")) {
                x.getResponseHeaders().set("Location", "/login");
                send(x, 303, "text/plain", "log in at /login\n");
            } else {
                x.getResponseHeaders()
                        .set("WWW-Authenticate", "Basic realm=\"prospector dashboard\", charset=\"UTF-8\"");
                send(x, 401, "text/plain", "password required: log in at /login or use HTTP Basic\n");
            }
            return;
        }
        switch (path) {
            case "/" -> send(x, 200, "text/html; charset=utf-8", page);
            case "/app.js" -> send(x, 200, "text/javascript; charset=utf-8", script);
            case "/app.css" -> send(x, 200, "text/css; charset=utf-8", style);
            case "/qr.svg" -> send(x, 200, "image/svg+xml", qr);
            case "/api/status" -> send(x, 200, "application/json", view.status());
            case "/api/reports" -> send(x, 200, "application/json", view.reports());
            case "/api/hardware" -> send(x, 200, "application/json", view.hardware());
            case "/metrics" -> send(x, 200, "text/plain; version=0.0.4; charset=utf-8", view.metrics());
            default -> send(x, 404, "text/plain", "not found\n");
        }
    }

    private static long headerBytes(Headers h) {
        long n = 0;
        for (Map.Entry<String, List<String>> e : h.entrySet()) {
            for (String v : e.getValue()) {
                n += e.getKey().length() + v.length() + 4;
            }
        }
        return n;
    }

    private static long contentLength(HttpExchange x) {
        String v = x.getRequestHeaders().getFirst("Content-Length");
        if (v == null) {
            return 0;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }

    /** Whether this request may read: no password needed, a live session cookie, or HTTP Basic with the password. */
    private boolean allowed(HttpExchange x) {
        if (password.isEmpty()) {
            return true;
        }
        String cookies = x.getRequestHeaders().getFirst("Cookie");
        if (cookies != null) {
            for (String c : java.util.regex.Pattern.compile(";").split(cookies, -1)) {
                String t = c.trim();
                if (t.startsWith(COOKIE + "=") && liveSession(t.substring(COOKIE.length() + 1))) {
                    return true;
                }
            }
        }
        String auth = x.getRequestHeaders().getFirst("Authorization");
        if (auth != null && auth.regionMatches(true, 0, "Basic ", 0, 6) && auth.length() < 512) {
            String decoded;
            try {
                decoded =
                        new String(Base64.getDecoder().decode(auth.substring(6).trim()), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                return false;
            }
            int colon = decoded.indexOf(':');
            return colon >= 0 && check(x, decoded.substring(colon + 1).toCharArray()) == Check.RIGHT;
        }
        return false;
    }

    private synchronized boolean liveSession(String token) {
        if (localSession != null
                && java.security.MessageDigest.isEqual(
                        localSession.getBytes(StandardCharsets.US_ASCII), token.getBytes(StandardCharsets.US_ASCII))) {
            return true;
        }
        Instant until = sessions.get(token);
        if (until == null) {
            return false;
        }
        if (clock.instant().isAfter(until)) {
            sessions.remove(token);
            return false;
        }
        return true;
    }

    private enum Check {
        RIGHT,
        WRONG,
        WAIT
    }

    /** Checks a password through the guard: WAIT when this address is locked out or another check runs. */
    private Check check(HttpExchange x, char[] given) {
        String address = x.getRemoteAddress().getAddress().getHostAddress();
        Optional<Duration> wait = guard.wait(address);
        if (wait.isPresent() || !guard.startCheck()) {
            x.getResponseHeaders()
                    .set(
                            "Retry-After",
                            Long.toString(
                                    Math.max(1, wait.map(Duration::toSeconds).orElse(1L))));
            return Check.WAIT;
        }
        try {
            if (password.get().matches(given)) {
                guard.succeeded(address);
                return Check.RIGHT;
            }
            guard.failed(address);
            Logger.info("dashboard: wrong password from {}", address);
            return Check.WRONG;
        } finally {
            guard.endCheck();
            java.util.Arrays.fill(given, '\0');
        }
    }

    private void login(HttpExchange x, boolean post) throws IOException {
        if (password.isEmpty()) {
            x.getResponseHeaders().set("Location", "/");
            send(x, 303, "text/plain", "no password needed here\n");
            return;
        }
        if (!post) {
            send(x, 200, "text/html; charset=utf-8", loginPage(""));
            return;
        }
        long length = contentLength(x);
        if (length > MAX_LOGIN_BODY || x.getRequestHeaders().containsKey("Transfer-Encoding")) {
            send(x, 413, "text/plain", "login form too large\n");
            return;
        }
        byte[] body = x.getRequestBody().readNBytes((int) Math.max(0, length));
        String form = new String(body, StandardCharsets.UTF_8);
        String given = "";
        for (String pair : java.util.regex.Pattern.compile("&").split(form, -1)) {
            if (pair.startsWith("password=")) {
                try {
                    given = URLDecoder.decode(pair.substring("password=".length()), StandardCharsets.UTF_8);
                } catch (IllegalArgumentException e) {
                    given = "";
                }
            }
        }
        switch (check(x, given.toCharArray())) {
            case RIGHT -> {
                byte[] t = new byte[32];
                random.nextBytes(t);
                String token = HexFormat.of().formatHex(t);
                synchronized (this) {
                    sessions.put(token, clock.instant().plus(SESSION_LIFE));
                }
                x.getResponseHeaders()
                        .add(
                                "Set-Cookie",
                                COOKIE + "=" + token + "; Path=/; HttpOnly; SameSite=Strict; Max-Age="
                                        + SESSION_LIFE.toSeconds());
                x.getResponseHeaders().set("Location", "/");
                send(x, 303, "text/plain", "logged in\n");
            }
            case WRONG -> send(x, 401, "text/html; charset=utf-8", loginPage("Wrong password."));
            case WAIT ->
                send(
                        x,
                        429,
                        "text/html; charset=utf-8",
                        loginPage("Too many attempts: wait "
                                + x.getResponseHeaders().getFirst("Retry-After") + " s and try again."));
        }
    }

    private byte[] loginPage(String message) {
        return new String(loginPage, StandardCharsets.UTF_8)
                .replace("{{message}}", message)
                .getBytes(StandardCharsets.UTF_8);
    }

    private static void send(HttpExchange x, int status, String type, String body) throws IOException {
        send(x, status, type, body.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange x, int status, String type, byte[] body) throws IOException {
        Headers h = x.getResponseHeaders();
        h.set("Content-Type", type);
        h.set("Cache-Control", "no-store");
        h.set("X-Content-Type-Options", "nosniff");
        h.set("Referrer-Policy", "no-referrer");
        h.set("X-Frame-Options", "DENY");
        h.set(
                "Content-Security-Policy",
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
                        + " form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
        boolean head = x.getRequestMethod().equals("HEAD");
        x.sendResponseHeaders(status, head ? -1 : body.length == 0 ? -1 : body.length);
        if (!head && body.length > 0) {
            try (OutputStream out = x.getResponseBody()) {
                out.write(body);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        sampler.cancel(false);
        handlers.shutdownNow();
    }
}
