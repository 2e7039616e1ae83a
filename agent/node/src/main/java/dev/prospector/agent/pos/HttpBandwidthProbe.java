package dev.prospector.agent.pos;

import dev.prospector.attest.BandwidthReceipt;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.ServiceEvidence;
import dev.prospector.attest.Sha256;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.tinylog.Logger;

/**
 * The client side of the measurement endpoints' HTTP protocol (docs: notes/pos-protocol.md): per
 * endpoint a round trip ({@code /v1/ping}), a download whose SHA-256 the board sends back
 * ({@code /v1/down}) and an upload of the challenge's {@link UpStream} ({@code /v1/up}), each
 * answered by a receipt the endpoint signed. The first endpoint that answers always gets a round trip (a verifier
 * scores a test without one at the worst latency tier, so that a board with a slow link cannot
 * gain by leaving its round trips out); with more than two endpoints the others get none, so that
 * at most {@value ServiceEvidence#MAX_BANDWIDTH_RECEIPTS} receipts result.
 *
 * <p>Nothing an endpoint sends is read without a bound: a receipt at most
 * {@link BandwidthReceipt#MAX_BYTES}, a download exactly the bytes asked for, an error text a few
 * hundred bytes; each transfer ends after the timeout. A receipt must open and name this device,
 * this challenge and the direction asked, or it is dropped. An endpoint that fails is logged in one
 * line and the others are still tried.
 */
public final class HttpBandwidthProbe implements BandwidthProbe {
    /** Default bytes each way. */
    public static final long DEFAULT_BYTES = 8L << 20;
    /** Default time for one transfer. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    static final String SESSION_HEADER = "X-Prospector-Session";
    private static final Pattern SESSION = Pattern.compile("[0-9a-f]{32}");
    private static final int ERROR_TEXT_BYTES = 512;
    private static final int PING_BODY_BYTES = 64;

    private final List<URI> endpoints;
    private final long bytes;
    private final Duration timeout;
    private final HttpClient client;

    /**
     * @param endpoints base URLs of the measurement endpoints ({@code http://host:port})
     * @param bytes bytes each way per endpoint
     * @param timeout longest time for one transfer (connecting included)
     */
    public HttpBandwidthProbe(List<URI> endpoints, long bytes, Duration timeout) {
        if (bytes < 1) {
            throw new IllegalArgumentException("a bandwidth test moves at least one byte");
        }
        this.endpoints = List.copyOf(endpoints);
        this.bytes = bytes;
        this.timeout = timeout;
        this.client = HttpClient.newBuilder()
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .version(HttpClient.Version.HTTP_1_1)
                .build();
    }

    @Override
    public List<byte[]> measure(DeviceId device, byte[] nonce) throws InterruptedException {
        List<byte[]> out = new ArrayList<>();
        boolean gotRtt = false;
        for (URI endpoint : endpoints) {
            boolean withRtt =
                    (endpoints.size() <= 2 || !gotRtt) && out.size() + 3 <= ServiceEvidence.MAX_BANDWIDTH_RECEIPTS;
            if (out.size() + 2 > ServiceEvidence.MAX_BANDWIDTH_RECEIPTS) {
                Logger.info("bandwidth test: {} left out, the report holds {} receipts at most", endpoint, out.size());
                continue;
            }
            List<String> failures = new ArrayList<>();
            for (BandwidthReceipt.Direction step : withRtt
                    ? List.of(
                            BandwidthReceipt.Direction.RTT,
                            BandwidthReceipt.Direction.DOWN,
                            BandwidthReceipt.Direction.UP)
                    : List.of(BandwidthReceipt.Direction.DOWN, BandwidthReceipt.Direction.UP)) {
                try {
                    out.add(
                            switch (step) {
                                case RTT -> rtt(endpoint, device, nonce);
                                case DOWN -> down(endpoint, device, nonce);
                                case UP -> up(endpoint, device, nonce);
                            });
                    gotRtt |= step == BandwidthReceipt.Direction.RTT;
                } catch (IOException e) {
                    failures.add(step.code() + ": " + e.getMessage());
                    if (unreachable(e)) {
                        break; // the next steps would only wait for the same connection
                    }
                }
            }
            if (!failures.isEmpty()) {
                Logger.warn("bandwidth test against {} failed: {}", endpoint, String.join("; ", failures));
            }
        }
        return List.copyOf(out);
    }

    /** Whether {@code e} says the endpoint cannot be reached at all. */
    private static boolean unreachable(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.net.ConnectException || t instanceof java.net.http.HttpConnectTimeoutException) {
                return true;
            }
        }
        return false;
    }

    private byte[] rtt(URI endpoint, DeviceId device, byte[] nonce) throws IOException, InterruptedException {
        var ping = send(
                HttpRequest.newBuilder(url(endpoint, "/v1/ping", device, nonce, false))
                        .GET()
                        .build(),
                new Limited(PING_BODY_BYTES, true));
        String session = session(ping);
        var receipt = send(
                HttpRequest.newBuilder(url(endpoint, "/v1/ping/" + session))
                        .POST(HttpRequest.BodyPublishers.noBody())
                        .build(),
                new Limited(BandwidthReceipt.MAX_BYTES, true));
        return check(receipt, device, nonce, BandwidthReceipt.Direction.RTT);
    }

    private byte[] down(URI endpoint, DeviceId device, byte[] nonce) throws IOException, InterruptedException {
        var body = send(
                HttpRequest.newBuilder(url(endpoint, "/v1/down", device, nonce, true))
                        .GET()
                        .build(),
                new Limited(bytes, false));
        if (body.count() != bytes) {
            throw new IOException("the endpoint sent " + body.count() + " bytes of " + bytes);
        }
        String session = session(body);
        var receipt = send(
                HttpRequest.newBuilder(url(endpoint, "/v1/down/" + session))
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body.digest()))
                        .build(),
                new Limited(BandwidthReceipt.MAX_BYTES, true));
        return check(receipt, device, nonce, BandwidthReceipt.Direction.DOWN);
    }

    private byte[] up(URI endpoint, DeviceId device, byte[] nonce) throws IOException, InterruptedException {
        var upload = HttpRequest.BodyPublishers.fromPublisher(
                HttpRequest.BodyPublishers.ofInputStream(() -> new UpStream(nonce, bytes)), bytes);
        var receipt = send(
                HttpRequest.newBuilder(url(endpoint, "/v1/up", device, nonce, false))
                        .POST(upload)
                        .build(),
                new Limited(BandwidthReceipt.MAX_BYTES, true));
        return check(receipt, device, nonce, BandwidthReceipt.Direction.UP);
    }

    private URI url(URI endpoint, String path, DeviceId device, byte[] nonce, boolean withBytes) {
        String query = "?dev=" + URLEncoder.encode(device.value(), StandardCharsets.UTF_8) + "&nonce="
                + HexFormat.of().formatHex(nonce) + (withBytes ? "&bytes=" + bytes : "");
        return url(endpoint, path + query);
    }

    private static URI url(URI endpoint, String pathAndQuery) {
        String base = endpoint.toString();
        while (base.endsWith("/")) {
            base = base.substring(0, base.length() - 1);
        }
        return URI.create(base + pathAndQuery);
    }

    private static String session(Body response) throws IOException {
        String s = response.session();
        if (s == null || !SESSION.matcher(s).matches()) {
            throw new IOException("the endpoint gave no session (" + SESSION_HEADER + ": 32 hex digits)");
        }
        return s;
    }

    /** The receipt if it opens and names this device, nonce and direction. */
    private static byte[] check(Body response, DeviceId device, byte[] nonce, BandwidthReceipt.Direction direction)
            throws IOException {
        byte[] signed = response.bytes();
        try {
            var r = BandwidthReceipt.open(signed).receipt();
            if (!r.device().equals(device) || !Arrays.equals(r.nonce(), nonce) || r.direction() != direction) {
                throw new IOException(
                        "the endpoint's receipt is not for this device, challenge and direction (" + r + ")");
            }
            return signed;
        } catch (MalformedReportException e) {
            throw new IOException("the endpoint's receipt does not open: " + e.getMessage());
        }
    }

    /** Sends, waits at most the timeout for the whole response, and refuses any status but 200. */
    private Body send(HttpRequest request, Limited ok) throws IOException, InterruptedException {
        HttpRequest timed = HttpRequest.newBuilder(request, (name, value) -> true)
                .timeout(timeout)
                .build();
        CompletableFuture<HttpResponse<Body>> future = client.sendAsync(timed, info -> {
            ok.session = info.headers().firstValue(SESSION_HEADER).orElse(null);
            return info.statusCode() == 200 ? ok : new Limited(ERROR_TEXT_BYTES, true).truncating();
        });
        HttpResponse<Body> response;
        try {
            response = future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new IOException(request.method() + " " + request.uri().getPath() + ": no complete answer within "
                    + timeout.toSeconds() + " s");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new IOException(
                    request.method() + " " + request.uri().getPath() + ": "
                            + (cause.getMessage() == null ? cause.toString() : cause.getMessage()),
                    cause);
        }
        if (response.statusCode() != 200) {
            String text = new String(response.body().bytes(), StandardCharsets.UTF_8)
                    .replaceAll("\\p{Cntrl}", " ")
                    .strip();
            throw new IOException(request.method() + " " + request.uri().getPath() + ": HTTP " + response.statusCode()
                    + (text.isEmpty() ? "" : " " + text));
        }
        return response.body();
    }

    /** A response body read within a bound: kept (receipts, error texts) or hashed (downloads). */
    record Body(byte[] bytes, byte[] digest, long count, String session) {}

    /**
     * Reads a body up to {@code max} bytes: more fails the response (and cancels it), or, when
     * truncating (error texts), keeps the first {@code max} bytes and drops the rest.
     */
    static final class Limited implements HttpResponse.BodySubscriber<Body> {
        private final long max;
        private final boolean keep;
        private final CompletableFuture<Body> result = new CompletableFuture<>();
        private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
        private final MessageDigest md = Sha256.newDigest();
        private boolean truncate;
        private Flow.Subscription subscription;
        private long count;
        volatile String session;

        Limited(long max, boolean keep) {
            this.max = max;
            this.keep = keep;
        }

        Limited truncating() {
            truncate = true;
            return this;
        }

        @Override
        public CompletionStage<Body> getBody() {
            return result;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(1);
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            if (result.isDone()) {
                return;
            }
            for (ByteBuffer b : items) {
                int n = b.remaining();
                if (count + n > max && !truncate) {
                    subscription.cancel();
                    result.completeExceptionally(
                            new IOException("the endpoint sent more than the " + max + " bytes allowed: refused"));
                    return;
                }
                if (keep) {
                    int take = (int) Math.min(n, max - Math.min(max, count));
                    byte[] part = new byte[take];
                    b.get(part);
                    kept.write(part, 0, take);
                } else {
                    md.update(b);
                }
                count += n;
            }
            subscription.request(1);
        }

        @Override
        public void onError(Throwable t) {
            result.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            result.complete(new Body(kept.toByteArray(), keep ? new byte[0] : md.digest(), count, session));
        }
    }
}
