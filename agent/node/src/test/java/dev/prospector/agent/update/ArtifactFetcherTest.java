package dev.prospector.agent.update;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.prospector.attest.Sha256;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArtifactFetcherTest {
    @TempDir
    Path dir;

    private HttpServer server;
    private final AtomicReference<byte[]> served = new AtomicReference<>();
    private final byte[] artifact = "the new version's bytes".getBytes();
    private final ArtifactFetcher fetcher = new ArtifactFetcher(Duration.ofSeconds(10));

    @BeforeEach
    void serve() throws Exception {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/a", x -> {
            byte[] b = served.get();
            x.sendResponseHeaders(200, b.length);
            x.getResponseBody().write(b);
            x.close();
        });
        server.start();
        served.set(artifact);
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/a");
    }

    @Test
    void theSignedBytesAreAccepted() throws Exception {
        Path t = dir.resolve("x");
        fetcher.fetch(url(), artifact.length, Sha256.of(artifact), t);
        assertArrayEquals(artifact, Files.readAllBytes(t));
    }

    @Test
    void aCorruptedDownloadIsRefusedAndLeavesNoFile() {
        byte[] bad = artifact.clone();
        bad[3] ^= 0x20;
        served.set(bad);
        Path t = dir.resolve("x");
        var e = assertThrows(
                ArtifactFetcher.FetchException.class,
                () -> fetcher.fetch(url(), artifact.length, Sha256.of(artifact), t));
        System.out.println("served one flipped bit: " + e.getMessage());
        assertTrue(e.getMessage().contains("SHA-256"));
        assertFalse(Files.exists(t));
        assertFalse(Files.exists(dir.resolve("x.part")));
    }

    @Test
    void aDownloadLargerThanDeclaredStopsAtTheBound() {
        served.set(new byte[1 << 20]);
        var e = assertThrows(
                ArtifactFetcher.FetchException.class,
                () -> fetcher.fetch(url(), 1000, Sha256.of(artifact), dir.resolve("x")));
        assertTrue(e.getMessage().contains("1000"), e.getMessage());
    }

    @Test
    void aShortDownloadIsRefused() {
        var e = assertThrows(
                ArtifactFetcher.FetchException.class,
                () -> fetcher.fetch(url(), artifact.length + 1, Sha256.of(artifact), dir.resolve("x")));
        assertTrue(e.getMessage().contains("declares"), e.getMessage());
    }

    @Test
    void onlyHttpUrlsWithAHostAreAccepted() {
        assertThrows(IllegalArgumentException.class, () -> ArtifactFetcher.requireUrl("file:///etc/passwd"));
        assertThrows(IllegalArgumentException.class, () -> ArtifactFetcher.requireUrl("ftp://h/x"));
        assertEquals("h", ArtifactFetcher.requireUrl("https://h/x.tar.gz").getHost());
    }
}
