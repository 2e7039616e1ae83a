package dev.prospector.agent.pos;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.prospector.attest.BandwidthReceipt;
import dev.prospector.attest.BandwidthReceipt.Direction;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Sha256;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The probe against a small endpoint in the test that follows the measurement protocol (the real
 * one is the network side's): honest receipts come back; oversize answers, over-long downloads and
 * a stalled endpoint are refused without taking the others down.
 */
class HttpBandwidthProbeTest {
    private static final DeviceKeys BOARD = DeviceKeys.fromSeed(new byte[32]);
    private static final byte[] NONCE = {1, 2, 3, 4, 5};
    private static final long BYTES = 256L << 10;

    private final List<Endpoint> endpoints = new ArrayList<>();

    @AfterEach
    void stop() {
        endpoints.forEach(Endpoint::close);
    }

    private Endpoint endpoint() throws IOException {
        Endpoint e = new Endpoint();
        endpoints.add(e);
        return e;
    }

    /** What the endpoint does wrong, if anything. */
    enum Fault {
        NONE,
        OVERSIZE_UP_RECEIPT,
        LONGER_DOWNLOAD,
        STALLED_DOWNLOAD,
        RECEIPT_FOR_ANOTHER_NONCE
    }

    /** A measurement endpoint per the protocol, on loopback, signing with its own key. */
    static final class Endpoint implements AutoCloseable {
        final DeviceKeys key = DeviceKeys.generate();
        final HttpServer server;
        final CountDownLatch release = new CountDownLatch(1);
        final Map<String, long[]> started = new ConcurrentHashMap<>();
        final Map<String, byte[]> sent = new ConcurrentHashMap<>();
        final Map<String, String[]> who = new ConcurrentHashMap<>();
        volatile Fault fault = Fault.NONE;
        volatile long uploaded = -1;

        Endpoint() throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.setExecutor(Executors.newCachedThreadPool());
            server.createContext("/v1/ping", this::ping);
            server.createContext("/v1/down", this::down);
            server.createContext("/v1/up", this::up);
            server.start();
        }

        URI url() {
            return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        }

        @Override
        public void close() {
            release.countDown();
            server.stop(0);
        }

        private static Map<String, String> query(HttpExchange x) {
            Map<String, String> q = new HashMap<>();
            String raw = x.getRequestURI().getRawQuery();
            if (raw != null) {
                for (String kv : raw.split("&")) {
                    int eq = kv.indexOf('=');
                    q.put(
                            kv.substring(0, eq),
                            java.net.URLDecoder.decode(kv.substring(eq + 1), java.nio.charset.StandardCharsets.UTF_8));
                }
            }
            return q;
        }

        private static String newSession() {
            byte[] s = new byte[16];
            new SecureRandom().nextBytes(s);
            return HexFormat.of().formatHex(s);
        }

        private void receipt(HttpExchange x, String dev, byte[] nonce, Direction dir, long bytes, long startNanos)
                throws IOException {
            byte[] signed = new BandwidthReceipt(
                            new dev.prospector.attest.DeviceId(dev),
                            fault == Fault.RECEIPT_FOR_ANOTHER_NONCE ? new byte[] {9} : nonce,
                            dir,
                            bytes,
                            Duration.ofNanos(Math.max(1000, System.nanoTime() - startNanos)),
                            Instant.now())
                    .sign(key);
            if (dir == Direction.UP && fault == Fault.OVERSIZE_UP_RECEIPT) {
                signed = java.util.Arrays.copyOf(signed, BandwidthReceipt.MAX_BYTES + 100);
            }
            x.getResponseHeaders().set("Content-Type", "application/cose");
            x.sendResponseHeaders(200, signed.length);
            x.getResponseBody().write(signed);
            x.close();
        }

        private static void fail(HttpExchange x, int status, String why) throws IOException {
            byte[] b = why.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            x.sendResponseHeaders(status, b.length);
            x.getResponseBody().write(b);
            x.close();
        }

        private void ping(HttpExchange x) throws IOException {
            String path = x.getRequestURI().getPath();
            if (path.equals("/v1/ping")) {
                var q = query(x);
                String s = newSession();
                who.put(s, new String[] {q.get("dev"), q.get("nonce")});
                x.getResponseHeaders().set(HttpBandwidthProbe.SESSION_HEADER, s);
                started.put(s, new long[] {System.nanoTime()});
                x.sendResponseHeaders(200, -1);
                x.close();
                return;
            }
            String s = path.substring("/v1/ping/".length());
            String[] w = who.remove(s);
            if (w == null) {
                fail(x, 404, "unknown session");
                return;
            }
            receipt(x, w[0], HexFormat.of().parseHex(w[1]), Direction.RTT, 0, started.remove(s)[0]);
        }

        private void down(HttpExchange x) throws IOException {
            String path = x.getRequestURI().getPath();
            if (path.equals("/v1/down")) {
                var q = query(x);
                long bytes = Long.parseLong(q.get("bytes"));
                String s = newSession();
                who.put(s, new String[] {q.get("dev"), q.get("nonce"), Long.toString(bytes)});
                byte[] body = new byte[(int) bytes + (fault == Fault.LONGER_DOWNLOAD ? 1 : 0)];
                new SecureRandom().nextBytes(body);
                sent.put(s, Sha256.newDigest().digest(body));
                x.getResponseHeaders().set(HttpBandwidthProbe.SESSION_HEADER, s);
                started.put(s, new long[] {System.nanoTime()});
                if (fault == Fault.STALLED_DOWNLOAD) {
                    x.sendResponseHeaders(200, body.length);
                    x.getResponseBody().write(body, 0, 1000);
                    x.getResponseBody().flush();
                    try {
                        release.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    x.close();
                    return;
                }
                x.sendResponseHeaders(200, body.length);
                x.getResponseBody().write(body);
                x.close();
                return;
            }
            String s = path.substring("/v1/down/".length());
            byte[] digest = x.getRequestBody().readNBytes(65);
            String[] w = who.remove(s);
            if (w == null) {
                fail(x, 404, "unknown session");
                return;
            }
            if (!MessageDigest.isEqual(digest, sent.remove(s))) {
                fail(x, 400, "wrong digest");
                return;
            }
            receipt(x, w[0], HexFormat.of().parseHex(w[1]), Direction.DOWN, Long.parseLong(w[2]), started.remove(s)[0]);
        }

        private void up(HttpExchange x) throws IOException {
            var q = query(x);
            byte[] nonce = HexFormat.of().parseHex(q.get("nonce"));
            long start = System.nanoTime();
            MessageDigest got = Sha256.newDigest();
            long count = 0;
            try (InputStream in = x.getRequestBody()) {
                byte[] buf = new byte[16 * 1024];
                for (int n; (n = in.read(buf)) > 0; ) {
                    got.update(buf, 0, n);
                    count += n;
                }
            }
            byte[] expected = Sha256.newDigest().digest(new UpStream(nonce, count).readAllBytes());
            if (!MessageDigest.isEqual(expected, got.digest())) {
                fail(x, 400, "the upload is not the challenge's stream");
                return;
            }
            uploaded = count;
            receipt(x, q.get("dev"), nonce, Direction.UP, count, start);
        }
    }

    private static HttpBandwidthProbe probe(Duration timeout, URI... urls) {
        return new HttpBandwidthProbe(List.of(urls), BYTES, timeout);
    }

    private static List<BandwidthReceipt.Opened> open(List<byte[]> signed) throws Exception {
        var out = new ArrayList<BandwidthReceipt.Opened>();
        for (byte[] s : signed) {
            out.add(BandwidthReceipt.open(s));
        }
        return out;
    }

    @Test
    void anHonestEndpointSignsARoundTripADownloadAndAnUpload() throws Exception {
        Endpoint e = endpoint();
        var receipts = open(probe(Duration.ofSeconds(10), e.url()).measure(BOARD.deviceId(), NONCE));
        assertEquals(
                List.of(Direction.RTT, Direction.DOWN, Direction.UP),
                receipts.stream().map(o -> o.receipt().direction()).toList());
        for (var o : receipts) {
            assertTrue(o.signedBy(e.key.publicKey()), "signed by the endpoint");
            assertEquals(BOARD.deviceId(), o.receipt().device());
            assertArrayEquals(NONCE, o.receipt().nonce());
        }
        assertEquals(BYTES, receipts.get(1).receipt().bytes(), "the download's digest was right");
        assertEquals(BYTES, receipts.get(2).receipt().bytes());
        assertEquals(BYTES, e.uploaded, "the endpoint received the challenge's stream");
    }

    @Test
    void aReceiptLargerThanAllowedIsRefusedAndTheRestKept() throws Exception {
        Endpoint e = endpoint();
        e.fault = Fault.OVERSIZE_UP_RECEIPT;
        var receipts = open(probe(Duration.ofSeconds(10), e.url()).measure(BOARD.deviceId(), NONCE));
        assertEquals(
                List.of(Direction.RTT, Direction.DOWN),
                receipts.stream().map(o -> o.receipt().direction()).toList());
    }

    @Test
    void aDownloadLongerThanAskedIsRefused() throws Exception {
        Endpoint e = endpoint();
        e.fault = Fault.LONGER_DOWNLOAD;
        var receipts = open(probe(Duration.ofSeconds(10), e.url()).measure(BOARD.deviceId(), NONCE));
        assertEquals(
                List.of(Direction.RTT, Direction.UP),
                receipts.stream().map(o -> o.receipt().direction()).toList());
    }

    @Test
    void aReceiptForAnotherChallengeIsDropped() throws Exception {
        Endpoint e = endpoint();
        e.fault = Fault.RECEIPT_FOR_ANOTHER_NONCE;
        assertEquals(List.of(), probe(Duration.ofSeconds(10), e.url()).measure(BOARD.deviceId(), NONCE));
    }

    @Test
    @Timeout(60)
    void aStalledDownloadEndsAtTheTimeoutAndTheUploadStillRuns() throws Exception {
        Endpoint e = endpoint();
        e.fault = Fault.STALLED_DOWNLOAD;
        var receipts = open(probe(Duration.ofSeconds(1), e.url()).measure(BOARD.deviceId(), NONCE));
        assertEquals(
                List.of(Direction.RTT, Direction.UP),
                receipts.stream().map(o -> o.receipt().direction()).toList());
    }

    @Test
    void anEndpointThatIsDownIsLeftOutAndWithThreeOnlyTheFirstThatAnswersMeasuresARoundTrip() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        URI down = URI.create("http://127.0.0.1:" + closedPort + "/");
        Endpoint a = endpoint();
        Endpoint b = endpoint();
        var receipts = open(probe(Duration.ofSeconds(5), down, a.url(), b.url()).measure(BOARD.deviceId(), NONCE));
        assertEquals(
                List.of(Direction.RTT, Direction.DOWN, Direction.UP, Direction.DOWN, Direction.UP),
                receipts.stream().map(o -> o.receipt().direction()).toList());
        assertTrue(receipts.get(0).signedBy(a.key.publicKey()));
        assertTrue(receipts.get(4).signedBy(b.key.publicKey()));
    }
}
