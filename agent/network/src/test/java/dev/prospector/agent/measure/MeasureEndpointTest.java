package dev.prospector.agent.measure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.attest.BandwidthReceipt;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The measurement endpoint on loopback, driven by the JDK's HTTP client as a board drives it. */
class MeasureEndpointTest {
    private static final DeviceKeys KEY = DeviceKeys.fromSeed(new byte[32]);
    private static final DeviceId BOARD = DeviceKeys.generate().deviceId();
    private static final byte[] NONCE = {1, 2, 3, 4};
    private static final int BYTES = 256 * 1024;

    /** The endpoint's monotonic clock: real time plus what a test adds. */
    private final AtomicLong skip = new AtomicLong();

    private MeasureEndpoint endpoint;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @BeforeEach
    void start() throws Exception {
        endpoint = MeasureEndpoint.start(
                MeasureEndpoint.Settings.of("127.0.0.1", 0).withMaxBytes(1 << 20),
                KEY,
                Clock.fixed(Instant.ofEpochMilli(1_700_000_000_000L), ZoneOffset.UTC),
                () -> System.nanoTime() + skip.get());
    }

    @AfterEach
    void stop() {
        endpoint.close();
    }

    private URI uri(String pathAndQuery) {
        return URI.create(endpoint.url() + pathAndQuery);
    }

    private String query(DeviceId dev) {
        return "dev=" + dev.value() + "&nonce=" + HexFormat.of().formatHex(NONCE);
    }

    private HttpResponse<byte[]> get(String pathAndQuery) throws Exception {
        return http.send(
                HttpRequest.newBuilder(uri(pathAndQuery)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private HttpResponse<byte[]> post(String pathAndQuery, byte[] body) throws Exception {
        return http.send(
                HttpRequest.newBuilder(uri(pathAndQuery))
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                        .build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    /**
     * The status line answering an upload that announces {@code length} bytes, on a raw socket that
     * sends none of them (an HTTP client sending the body may see the refusal's connection reset
     * before the answer).
     */
    private String announcedUpload(long length) throws Exception {
        try (Socket s = new Socket("127.0.0.1", endpoint.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream()
                    .write(("POST /v1/up?" + query(BOARD) + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + length
                                    + "\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            String line =
                    new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
            return line.substring(0, "HTTP/1.1 413".length());
        }
    }

    private static BandwidthReceipt receipt(HttpResponse<byte[]> r) throws Exception {
        assertEquals(200, r.statusCode(), () -> new String(r.body(), StandardCharsets.UTF_8));
        BandwidthReceipt.Opened opened = BandwidthReceipt.open(r.body());
        assertTrue(opened.signedBy(KEY.publicKey()), "signed by the endpoint's key");
        assertEquals(KEY.deviceId(), opened.endpoint());
        return opened.receipt();
    }

    @Test
    void anHonestDownloadUploadAndPingGiveReceiptsSignedByTheEndpointKey() throws Exception {
        var down = get("/v1/down?" + query(BOARD) + "&bytes=" + BYTES);
        assertEquals(200, down.statusCode());
        assertEquals(BYTES, down.body().length);
        String session =
                down.headers().firstValue(MeasureEndpoint.SESSION_HEADER).orElseThrow();
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(down.body());
        BandwidthReceipt d = receipt(post("/v1/down/" + session, digest));
        assertEquals(BandwidthReceipt.Direction.DOWN, d.direction());
        assertEquals(BYTES, d.bytes());
        assertEquals(BOARD, d.device());
        assertEquals(HexFormat.of().formatHex(NONCE), HexFormat.of().formatHex(d.nonce()));
        assertTrue(d.mbps() > 0);

        BandwidthReceipt u = receipt(post("/v1/up?" + query(BOARD), new byte[BYTES]));
        assertEquals(BandwidthReceipt.Direction.UP, u.direction());
        assertEquals(BYTES, u.bytes(), "the endpoint counts what it read");

        var ping = get("/v1/ping?" + query(BOARD));
        assertEquals(200, ping.statusCode());
        String p = ping.headers().firstValue(MeasureEndpoint.SESSION_HEADER).orElseThrow();
        BandwidthReceipt r = receipt(post("/v1/ping/" + p, new byte[0]));
        assertEquals(BandwidthReceipt.Direction.RTT, r.direction());
        assertEquals(0, r.bytes());

        assertEquals(KEY.deviceId().value(), new String(get("/v1/key").body(), StandardCharsets.UTF_8).trim());
        assertEquals(0, endpoint.openSessions(), "finished sessions are gone");
    }

    @Test
    void twoDownloadsAreDifferentBytesSoOneCannotBeReused() throws Exception {
        var a = get("/v1/down?" + query(BOARD) + "&bytes=1024");
        var b = get("/v1/down?" + query(BOARD) + "&bytes=1024");
        assertFalse(java.util.Arrays.equals(a.body(), b.body()));
    }

    @Test
    void aWrongDigestIsRefusedAndGivesNoReceipt() throws Exception {
        var down = get("/v1/down?" + query(BOARD) + "&bytes=4096");
        String session =
                down.headers().firstValue(MeasureEndpoint.SESSION_HEADER).orElseThrow();
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(new byte[4096]); // never downloaded
        var r = post("/v1/down/" + session, digest);
        assertEquals(400, r.statusCode());
        assertTrue(
                new String(r.body(), StandardCharsets.UTF_8).contains("wrong digest"),
                new String(r.body(), StandardCharsets.UTF_8));
        assertEquals(404, post("/v1/down/" + session, digest).statusCode(), "a session gives one answer");
    }

    @Test
    void oversizeRequestsAreRefused() throws Exception {
        assertEquals(
                400,
                get("/v1/down?" + query(BOARD) + "&bytes=" + ((1 << 20) + 1)).statusCode());
        assertEquals(400, get("/v1/down?" + query(BOARD) + "&bytes=0").statusCode());
        assertEquals("HTTP/1.1 413", announcedUpload((1 << 20) + 1), "refused before a byte of the body is read");
        var down = get("/v1/down?" + query(BOARD) + "&bytes=16");
        String session =
                down.headers().firstValue(MeasureEndpoint.SESSION_HEADER).orElseThrow();
        assertEquals(400, post("/v1/down/" + session, new byte[65]).statusCode(), "digest bodies are small");
        assertEquals(400, get("/v1/ping?dev=nobody&nonce=01").statusCode(), "dev must be a device id");
        assertEquals(400, get("/v1/ping?dev=" + BOARD.value() + "&nonce=zz").statusCode());
        assertEquals(404, get("/v1/elsewhere").statusCode());
    }

    @Test
    void tooManySessionsAtOnceAreRefusedWithRetryAfter() throws Exception {
        for (int i = 0; i < 8; i++) {
            var ping = get("/v1/ping?" + query(DeviceKeys.generate().deviceId()));
            assertEquals(200, ping.statusCode(), "session " + (i + 1));
        }
        var busy = get("/v1/ping?" + query(DeviceKeys.generate().deviceId()));
        assertEquals(503, busy.statusCode());
        assertTrue(busy.headers().firstValue("Retry-After").isPresent());
    }

    @Test
    void aDeviceIsLimitedToSixTestsAMinute() throws Exception {
        for (int i = 0; i < 6; i++) {
            var ping = get("/v1/ping?" + query(BOARD));
            assertEquals(200, ping.statusCode());
            String s = ping.headers().firstValue(MeasureEndpoint.SESSION_HEADER).orElseThrow();
            receipt(post("/v1/ping/" + s, new byte[0]));
        }
        assertEquals(429, get("/v1/ping?" + query(BOARD)).statusCode());
        assertEquals(
                200, get("/v1/ping?" + query(DeviceKeys.generate().deviceId())).statusCode(), "others may");
        skip.addAndGet(Duration.ofSeconds(61).toNanos());
        assertEquals(200, get("/v1/ping?" + query(BOARD)).statusCode(), "a minute later it may again");
    }

    @Test
    void aSessionExpiresAfterSixtySeconds() throws Exception {
        var ping = get("/v1/ping?" + query(BOARD));
        String s = ping.headers().firstValue(MeasureEndpoint.SESSION_HEADER).orElseThrow();
        skip.addAndGet(Duration.ofSeconds(61).toNanos());
        var late = post("/v1/ping/" + s, new byte[0]);
        assertEquals(404, late.statusCode());
        assertEquals(0, endpoint.openSessions());
    }
}
