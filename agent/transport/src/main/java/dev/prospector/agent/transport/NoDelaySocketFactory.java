package dev.prospector.agent.transport;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import javax.net.SocketFactory;

/**
 * Plain TCP sockets for Paho with Nagle's algorithm off ({@code TCP_NODELAY}); Paho sets no socket
 * option of its own. With Nagle on, a small MQTT packet written while an earlier one is still
 * unacknowledged waits for that acknowledgement, which the peer delays by up to 40 ms (Linux's
 * delayed ACK): a verifier's receipt written just after its PUBACK reached the board 20 ms late at
 * the median and 45 ms at the 99th percentile on loopback (docs/BENCHMARKS.md, "Network side").
 * MQTT packets are whole messages written at once, so there is nothing for Nagle to coalesce.
 * TLS connections get the same option from {@link TlsSocketFactories}.
 */
final class NoDelaySocketFactory extends SocketFactory {
    static final NoDelaySocketFactory INSTANCE = new NoDelaySocketFactory();

    private NoDelaySocketFactory() {}

    @Override
    public Socket createSocket() throws IOException {
        return noDelay(new Socket());
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return noDelay(new Socket(host, port));
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return noDelay(new Socket(host, port, localHost, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return noDelay(new Socket(host, port));
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
            throws IOException {
        return noDelay(new Socket(address, port, localAddress, localPort));
    }

    static Socket noDelay(Socket socket) throws IOException {
        socket.setTcpNoDelay(true);
        return socket;
    }
}
