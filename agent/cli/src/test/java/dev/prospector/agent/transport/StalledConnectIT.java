package dev.prospector.agent.transport;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.agent.testing.Mosquitto;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker that takes the TCP connection but never answers CONNECT (what a client sees when the
 * broker is busy handing the session to someone else, or a middlebox eats the CONNACK) must not
 * wedge the link: Paho keeps such a connect "in progress" for ever and refuses every later attempt
 * with "Connect already in progress" unless the link abandons it.
 */
class StalledConnectIT {
    @TempDir
    Path dir;

    @Test
    void aConnectThatIsNeverAnsweredIsAbandonedAndTheLinkConnectsOnTheNextAttempt() throws Exception {
        try (Mosquitto broker = Mosquitto.start(dir.resolve("mosquitto"));
                StallingProxy proxy = new StallingProxy(broker.port(), 1)) {
            BrokerUrl url = BrokerUrl.parse("tcp://127.0.0.1:" + proxy.port());
            MqttSettings settings = new MqttSettings(
                    url,
                    "stalled",
                    Optional.empty(),
                    Optional.empty(),
                    Duration.ofSeconds(30),
                    Duration.ZERO,
                    new Backoff(Duration.ofMillis(200), Duration.ofSeconds(1)),
                    Optional.empty(),
                    0);
            try (MqttLink link = new MqttLink(settings, Optional.empty(), (t, p) -> {})) {
                link.start();
                await("connected through the proxy after the stalled attempts")
                        .atMost(Duration.ofSeconds(90))
                        .until(link::isConnected);
            }
            System.out.println("stalled connect: " + proxy.accepted.get() + " connections, the first "
                    + proxy.stallFirst + " never answered; the link connected on a later one");
            assertTrue(proxy.accepted.get() > proxy.stallFirst, "connected only through a forwarded connection");
        }
    }

    /** Swallows the first {@code stallFirst} connections; forwards the rest to the broker. */
    private static final class StallingProxy implements AutoCloseable {
        final int stallFirst;
        final AtomicInteger accepted = new AtomicInteger();
        private final ServerSocket server;
        private final int target;
        private final List<Socket> sockets = new CopyOnWriteArrayList<>();
        private final Thread acceptor;

        StallingProxy(int target, int stallFirst) throws IOException {
            this.target = target;
            this.stallFirst = stallFirst;
            this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            this.acceptor = new Thread(this::acceptLoop, "stalling-proxy");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return server.getLocalPort();
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    Socket client = server.accept();
                    sockets.add(client);
                    if (accepted.incrementAndGet() <= stallFirst) {
                        continue; // keep it open, read nothing, answer nothing
                    }
                    Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target);
                    sockets.add(upstream);
                    pipe(client.getInputStream(), upstream.getOutputStream());
                    pipe(upstream.getInputStream(), client.getOutputStream());
                } catch (IOException e) {
                    return;
                }
            }
        }

        private static void pipe(InputStream in, OutputStream out) {
            Thread t = new Thread(
                    () -> {
                        try (in;
                                out) {
                            in.transferTo(out);
                        } catch (IOException ignored) {
                            // one side closed
                        }
                    },
                    "stalling-proxy-pipe");
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : sockets) {
                s.close();
            }
        }
    }
}
