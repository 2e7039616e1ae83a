package dev.prospector.agent.dashboard;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.testing.ProspectorProcess;
import dev.prospector.attest.DeviceKeys;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attacks on the dashboard of a live board bound to every address (0.0.0.0) with a password and
 * /metrics opened, each printing what was tried and how it was refused: a LAN bind without a
 * password, wrong passwords (refused, then rate limited), key material in any answer, huge headers
 * and bodies, slowloris connections, path traversal and writes. The agent must go on reporting.
 */
class DashboardAttackIT {
    static final String PASSWORD = "correct horse battery staple";

    @TempDir
    static Path dir;

    static LiveBoard board;
    static Path config;

    @BeforeAll
    static void startBoard() throws Exception {
        config = dir.resolve("prospector.conf");
        Files.writeString(
                config,
                "dashboard-bind = 0.0.0.0\ndashboard-metrics-open = true\ndashboard-password-hash = "
                        + PasswordHash.hash(PASSWORD.toCharArray()) + "\n");
        board = LiveBoard.start(dir, "--config", config.toString());
    }

    @AfterAll
    static void stopBoard() {
        if (board != null) {
            board.close();
        }
    }

    /** One raw HTTP exchange: the status line, or how the connection ended. */
    static String raw(byte[] request, Duration timeout) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", board.port), 5000);
            s.setSoTimeout((int) timeout.toMillis());
            try {
                s.getOutputStream().write(request);
                s.getOutputStream().flush();
            } catch (IOException e) {
                // The server may close while a huge request is still being sent: read what it said.
            }
            java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
            try {
                InputStream in = s.getInputStream();
                byte[] buf = new byte[4096];
                int n;
                while (!complete(got.toString(StandardCharsets.ISO_8859_1)) && (n = in.read(buf)) >= 0) {
                    got.write(buf, 0, n);
                }
            } catch (SocketTimeoutException e) {
                if (got.size() == 0) {
                    return "no answer within " + timeout.toSeconds() + " s";
                }
            } catch (IOException e) {
                if (got.size() == 0) {
                    return "connection reset (" + e.getMessage() + ")";
                }
            }
            String text = got.toString(StandardCharsets.ISO_8859_1);
            return text.isEmpty() ? "closed without an answer" : text;
        }
    }

    /** Whether {@code text} holds a whole response: its headers and as many body bytes as Content-Length says. */
    static boolean complete(String text) {
        int end = text.indexOf("\r\n\r\n");
        if (end < 0) {
            return false;
        }
        for (String line : text.substring(0, end).split("\r\n")) {
            if (line.regionMatches(true, 0, "Content-Length:", 0, 15)) {
                return text.length() - end - 4
                        >= Long.parseLong(line.substring(15).trim());
            }
        }
        return !text.substring(0, end).toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding");
    }

    static String raw(String request) throws IOException {
        return raw(request.getBytes(StandardCharsets.ISO_8859_1), Duration.ofSeconds(20));
    }

    static String statusLine(String answer) {
        return answer.lines().findFirst().orElse("");
    }

    static long made() throws Exception {
        String s = raw("GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        for (String line : s.split("\n")) {
            if (line.startsWith("prospector_reports_made_total")) {
                return Long.parseLong(line.substring(line.lastIndexOf(' ') + 1).trim());
            }
        }
        throw new AssertionError("no reports made in /metrics: " + s);
    }

    static String login(String password) throws IOException {
        String body = "password=" + java.net.URLEncoder.encode(password, StandardCharsets.UTF_8);
        return raw(
                "POST /login HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                        + "Content-Length: " + body.length() + "\r\n\r\n" + body);
    }

    @Test
    void aLanBindWithoutAPasswordIsRefusedAtStartUp() {
        var r = ProspectorProcess.run(
                dir.resolve("logs"),
                "lan-no-password",
                "run",
                "--broker",
                board.broker.url(),
                "--fleet",
                LiveBoard.FLEET,
                "--board",
                "emulated",
                "--data-dir",
                dir.resolve("other-board").toString(),
                "--dashboard-bind",
                "0.0.0.0",
                "--dashboard-port",
                Integer.toString(LiveBoard.freePort()));
        assertEquals(2, r.exitCode(), r.stderr());
        List<String> lines = r.stderr().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), "one line: " + r.stderr());
        assertTrue(
                lines.get(0).contains("without a password") && lines.get(0).contains("prospector password"),
                lines.get(0));
        assertFalse(Files.exists(dir.resolve("other-board").resolve(DeviceKeys.PRIVATE_KEY_FILE)), "nothing started");
        System.out.println(
                "tried: run --dashboard-bind 0.0.0.0 without a password; refused at start-up, exit 2: " + lines.get(0));
    }

    @Test
    void wrongPasswordsAreRefusedThenRateLimitedAndTheRightOneOpensASession() throws Exception {
        assertTrue(statusLine(raw("GET /api/status HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
                .contains(" 401 "));
        String page = raw("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        assertTrue(statusLine(page).contains(" 303 ") && page.contains("Location: /login"), page);

        String ok = login(PASSWORD);
        assertTrue(statusLine(ok).contains(" 303 "), ok);
        String cookie = ok.lines()
                .filter(l -> l.regionMatches(true, 0, "Set-Cookie: ", 0, 12))
                .findFirst()
                .orElseThrow()
                .substring(12)
                .split(";")[0];
        assertTrue(ok.contains("HttpOnly") && ok.contains("SameSite=Strict"), ok);
        String withCookie =
                raw("GET /api/status HTTP/1.1\r\nHost: a\r\nConnection: close\r\nCookie: " + cookie + "\r\n\r\n");
        assertTrue(statusLine(withCookie).contains(" 200 "), withCookie);
        String basic = Base64.getEncoder().encodeToString(("x:" + PASSWORD).getBytes(StandardCharsets.UTF_8));
        assertTrue(statusLine(raw("GET /api/hardware HTTP/1.1\r\nHost: a\r\nConnection: close\r\nAuthorization: Basic "
                        + basic + "\r\n\r\n"))
                .contains(" 200 "));

        List<String> answers = new ArrayList<>();
        for (int i = 0; i < LoginGuard.FREE_FAILURES + 1; i++) {
            String wrong = login("wrong guess " + i);
            answers.add(statusLine(wrong));
            assertTrue(statusLine(wrong).contains(" 401 "), wrong);
            assertTrue(wrong.contains("Wrong password."), wrong);
        }
        String locked = login(PASSWORD);
        assertTrue(statusLine(locked).contains(" 429 "), "even the right password waits once locked: " + locked);
        String retry = locked.lines()
                .filter(l -> l.regionMatches(true, 0, "Retry-After: ", 0, 13))
                .findFirst()
                .orElseThrow()
                .substring(13)
                .trim();
        assertTrue(Long.parseLong(retry) >= 1, retry);
        // The session made before still reads; the board's own `prospector status` reads through its token.
        assertTrue(statusLine(raw(
                        "GET /api/status HTTP/1.1\r\nHost: a\r\nConnection: close\r\nCookie: " + cookie + "\r\n\r\n"))
                .contains(" 200 "));
        var status = ProspectorProcess.run(
                dir.resolve("logs"),
                "status-lan",
                "status",
                "--config",
                config.toString(),
                "--data-dir",
                board.dataDir.toString(),
                "--dashboard-port",
                "" + board.port);
        assertEquals(0, status.exitCode(), status.stdout() + status.stderr());
        assertTrue(status.stdout().contains(board.device));
        // /metrics is opened for a scraper; the API is not.
        assertTrue(statusLine(raw("GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
                .contains(" 200 "));
        System.out.println("tried: " + (LoginGuard.FREE_FAILURES + 1) + " wrong passwords: " + answers
                + "; then the right one: " + statusLine(locked) + " (Retry-After " + retry
                + " s); no cookie: 401, / redirects to /login; right password: a session (HttpOnly, SameSite=Strict);"
                + " prospector status on the board: exit 0 through its token; /metrics open: 200");
    }

    @Test
    void noAnswerCarriesKeyMaterial() throws Exception {
        String pem = Files.readString(board.dataDir.resolve(DeviceKeys.PRIVATE_KEY_FILE), StandardCharsets.US_ASCII);
        String body64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        byte[] der = Base64.getDecoder().decode(body64);
        byte[] seed = java.util.Arrays.copyOfRange(der, der.length - 32, der.length);
        List<String> secrets = List.of(
                body64,
                HexFormat.of().formatHex(seed),
                Base64.getEncoder().withoutPadding().encodeToString(seed),
                Base64.getUrlEncoder().withoutPadding().encodeToString(seed),
                "PRIVATE KEY");
        String basic = Base64.getEncoder().encodeToString(("x:" + PASSWORD).getBytes(StandardCharsets.UTF_8));
        // The board's own token (as `prospector status` reads it): the rate-limit test may have locked logins.
        String cookie = DashboardServer.COOKIE + "="
                + Files.readString(board.dataDir.resolve(DashboardSettings.TOKEN_FILE))
                        .trim();
        List<String> paths = List.of(
                "/",
                "/app.js",
                "/app.css",
                "/qr.svg",
                "/api/status",
                "/api/reports",
                "/api/hardware",
                "/metrics",
                "/login",
                "/device.key",
                "/api/key",
                "/api/config",
                "/api/status?key=1");
        int read = 0;
        for (String p : paths) {
            String answer = raw("GET " + p + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\nCookie: " + cookie
                    + "\r\nAuthorization: Basic " + basic + "\r\n\r\n");
            for (String secret : secrets) {
                assertFalse(answer.contains(secret), p + " carries key material");
            }
            read += answer.contains(" 200 ") ? 1 : 0;
        }
        assertTrue(read >= 9, "the routes answered");
        System.out.println("tried: every route (" + paths.size() + " paths, " + read
                + " answered 200) searched for the device key's PEM, its seed in hex, base64 and base64url and any"
                + " PRIVATE KEY block: none found");
    }

    @Test
    void hugeHeadersAndBodiesWritesAndPathTraversalAreRefusedWithoutHarm() throws Exception {
        long before = made();
        List<String> said = new ArrayList<>();
        String bigHeader = "GET /api/status HTTP/1.1\r\nHost: a\r\nX-Big: " + "a".repeat(1 << 20) + "\r\n\r\n";
        String a = raw(bigHeader.getBytes(StandardCharsets.ISO_8859_1), Duration.ofSeconds(20));
        assertFalse(a.contains(" 200 "), a);
        said.add("a 1 MiB header: " + statusLine(a));
        StringBuilder many = new StringBuilder("GET /api/status HTTP/1.1\r\nHost: a\r\n");
        for (int i = 0; i < 2000; i++) {
            many.append("X-H").append(i).append(": v\r\n");
        }
        String b = raw(many.append("\r\n").toString());
        assertFalse(b.contains(" 200 "), b);
        said.add("2000 headers: " + statusLine(b));
        String c = raw("POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000\r\n\r\npassword=");
        assertTrue(statusLine(c).contains(" 413 "), c);
        said.add("a login body of 100 MB: " + statusLine(c));
        String d = raw("POST /login HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n");
        assertTrue(statusLine(d).contains(" 413 "), d);
        said.add("a chunked login body: " + statusLine(d));
        String e = raw("GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
        assertTrue(statusLine(e).contains(" 413 "), e);
        said.add("a GET with a body: " + statusLine(e));
        for (String m : List.of("POST /api/status", "PUT /api/status", "DELETE /metrics", "PATCH /")) {
            String w = raw(m + " HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            assertTrue(statusLine(w).contains(" 405 "), m + ": " + w);
            said.add(m + ": " + statusLine(w));
        }
        for (String p : List.of(
                "/../../../../etc/passwd",
                "/%2e%2e/%2e%2e/etc/passwd",
                "/..%2f..%2fetc%2fpasswd",
                "/api/../device.key",
                "/api/status/../../device.key",
                "//etc/passwd",
                "/..\\..\\etc\\passwd",
                "/device.key")) {
            String t = raw("GET " + p + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
            assertFalse(t.contains(" 200 "), p + ": " + t);
            assertFalse(t.contains("root:") || t.contains("PRIVATE KEY"), p + ": " + t);
            said.add(p + ": " + statusLine(t));
        }
        String fine = raw("GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        assertTrue(statusLine(fine).contains(" 200 "), "still serving: " + fine);
        await("the agent goes on reporting").atMost(LiveBoard.WAIT).until(() -> made() > before);
        assertTrue(board.agent.isAlive());
        System.out.println("tried and refused, the dashboard and the agent unharmed (reports made " + before + " -> "
                + made() + "):\n  " + String.join("\n  ", said));
    }

    /** Opens {@code n} connections that send a request's headers one byte every half second. */
    static List<Socket> slowloris(int n, AtomicBoolean stop) throws IOException {
        List<Socket> slow = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Socket s = new Socket();
            s.connect(new InetSocketAddress("127.0.0.1", board.port), 5000);
            s.getOutputStream()
                    .write("GET /api/status HTTP/1.1\r\nHost: a\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            slow.add(s);
        }
        Thread trickle = new Thread(() -> {
            while (!stop.get()) {
                for (Socket s : slow) {
                    try {
                        OutputStream out = s.getOutputStream();
                        out.write('a');
                        out.flush();
                    } catch (IOException e) {
                        // closed by the server: what we want
                    }
                }
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        trickle.setDaemon(true);
        trickle.start();
        return slow;
    }

    /** Milliseconds from {@code start} until each connection was closed by the server. */
    static List<Long> closedAfter(List<Socket> slow, long start) throws IOException {
        List<Long> closed = new ArrayList<>();
        for (Socket s : slow) {
            s.setSoTimeout((int) LiveBoard.WAIT.toMillis());
            InputStream in = s.getInputStream();
            try {
                while (in.read() >= 0) {
                    // whatever the server says before it closes
                }
            } catch (IOException e) {
                // reset: closed
            }
            closed.add((System.nanoTime() - start) / 1_000_000);
        }
        return closed;
    }

    @Test
    void slowlorisConnectionsAreClosedAndTheBoardGoesOn() throws Exception {
        long before = made();
        List<String> said = new ArrayList<>();
        // Fewer than the handler threads: a normal request is served meanwhile.
        int few = DashboardServer.THREADS / 2;
        AtomicBoolean stop = new AtomicBoolean();
        long start = System.nanoTime();
        List<Socket> slow = slowloris(few, stop);
        try {
            long t0 = System.nanoTime();
            String answer = raw("GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
            long servedMs = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(statusLine(answer).contains(" 200 "), "a normal request is served meanwhile: " + answer);
            assertTrue(servedMs < DashboardServer.REQUEST_TIME.toMillis(), "served at once: " + servedMs + " ms");
            long last = closedAfter(slow, start).stream()
                    .mapToLong(Long::longValue)
                    .max()
                    .orElseThrow();
            assertTrue(last < DashboardServer.REQUEST_TIME.toMillis() + 15_000, "closed: " + last + " ms");
            said.add(few + " slowloris connections: a normal request answered in " + servedMs
                    + " ms meanwhile, all closed within " + last + " ms");
        } finally {
            stop.set(true);
            for (Socket s : slow) {
                s.close();
            }
        }
        // More than the handler threads: requests wait, and all slow connections are still closed.
        int many = 3 * DashboardServer.THREADS;
        AtomicBoolean stop2 = new AtomicBoolean();
        long start2 = System.nanoTime();
        List<Socket> flood = slowloris(many, stop2);
        try {
            String during = statusLine(raw("GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
            List<Long> closed = closedAfter(flood, start2);
            long last = closed.stream().mapToLong(Long::longValue).max().orElseThrow();
            assertTrue(
                    last < DashboardServer.REQUEST_TIME.toMillis() + 15_000,
                    "every slow connection closed within the request time and the timer's tick: " + closed);
            String after = raw("GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
            assertTrue(statusLine(after).contains(" 200 "), "served again once they are closed: " + after);
            said.add(many + " slowloris connections (more than the " + DashboardServer.THREADS
                    + " handler threads): a normal request meanwhile got \"" + during + "\"; all closed within " + last
                    + " ms; then served again");
        } finally {
            stop2.set(true);
            for (Socket s : flood) {
                s.close();
            }
        }
        await("the agent goes on reporting").atMost(LiveBoard.WAIT).until(() -> made() > before);
        System.out.println("tried (request time " + DashboardServer.REQUEST_TIME.toSeconds() + " s), reports made "
                + before + " -> " + made() + ":\n  " + String.join("\n  ", said));
    }
}
