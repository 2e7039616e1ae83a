package dev.prospector.agent.update;

import dev.prospector.attest.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;

/**
 * Downloads an update's artifact over HTTP(S) into a file, never more than the size the signed
 * command declares (and never more than {@link #MAX_ARTIFACT_BYTES}), hashing as it goes. The
 * download is accepted only when its SHA-256 equals the one in the signed command: since the
 * command's signature covers that hash, a matching hash is the operator's signature over the
 * artifact, whoever served it (plain HTTP, a mirror, a cache). A mismatch deletes the file.
 */
public final class ArtifactFetcher {
    /** Largest artifact: the board's jar set is about 15 MiB; a Pi Zero's SD card is small. */
    public static final long MAX_ARTIFACT_BYTES = 128L << 20;
    /** Default time for the whole download. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);

    /**
     * Made on the first download, not at start: building an {@link HttpClient} initialises the
     * JDK's default TLS context, which loads the SSL classes and parses the whole CA store, about
     * 10 MB resident on a board that may never be sent an update (docs/BENCHMARKS.md).
     */
    private HttpClient client; // guarded by this

    private final Duration timeout;

    public ArtifactFetcher(Duration timeout) {
        this.timeout = timeout;
    }

    private synchronized HttpClient client() {
        if (client == null) {
            client = HttpClient.newBuilder()
                    .connectTimeout(Duration.ofSeconds(20))
                    .followRedirects(HttpClient.Redirect.NORMAL)
                    .build();
        }
        return client;
    }

    /** Why a download was not accepted, in one line. */
    public static final class FetchException extends IOException {
        private static final long serialVersionUID = 1L;

        FetchException(String message) {
            super(message);
        }
    }

    /** Checks an artifact URL: http or https with a host, nothing else. */
    public static URI requireUrl(String url) {
        URI u;
        try {
            u = new URI(url);
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("url is not a URL: " + e.getMessage());
        }
        if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null) {
            throw new IllegalArgumentException(
                    "url " + JarSetArchive.safe(url) + " is not an http:// or https:// URL with a host");
        }
        return u;
    }

    /**
     * Downloads {@code url} into {@code target} (replaced whole, only when it checks out): exactly
     * {@code size} bytes whose SHA-256 is {@code sha256}.
     */
    public void fetch(URI url, long size, byte[] sha256, Path target) throws IOException, InterruptedException {
        if (size <= 0 || size > MAX_ARTIFACT_BYTES) {
            throw new FetchException(
                    "declared size " + size + " is out of range (1 to " + MAX_ARTIFACT_BYTES + " bytes)");
        }
        HttpResponse<InputStream> response;
        try {
            response = client().send(
                            HttpRequest.newBuilder(url).timeout(timeout).GET().build(),
                            HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw new FetchException("cannot download " + url + ": " + e);
        }
        Path part = target.resolveSibling(target.getFileName() + ".part");
        try (InputStream in = response.body()) {
            if (response.statusCode() != 200) {
                throw new FetchException("download of " + url + " answered HTTP " + response.statusCode());
            }
            long declared =
                    response.headers().firstValueAsLong("content-length").orElse(-1);
            if (declared > size) {
                throw new FetchException("the server offers " + declared + " bytes, the signed command " + size);
            }
            MessageDigest digest = sha256();
            long got = 0;
            byte[] buf = new byte[1 << 16];
            Files.createDirectories(part.getParent());
            try (OutputStream out = Files.newOutputStream(
                    part, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    got += n;
                    if (got > size) {
                        throw new FetchException(
                                "the download is larger than the " + size + " bytes the signed command declares");
                    }
                    digest.update(buf, 0, n);
                    out.write(buf, 0, n);
                }
            }
            if (got != size) {
                throw new FetchException("the download has " + got + " bytes, the signed command declares " + size);
            }
            byte[] actual = digest.digest();
            if (!MessageDigest.isEqual(actual, sha256)) {
                throw new FetchException(
                        "the download's SHA-256 " + HexFormat.of().formatHex(actual) + " is not the signed "
                                + HexFormat.of().formatHex(sha256) + ": corrupted or replaced; nothing installed");
            }
            Files.move(part, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            AtomicFiles.fsyncDirectory(target.toAbsolutePath().getParent());
        } finally {
            Files.deleteIfExists(part);
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
