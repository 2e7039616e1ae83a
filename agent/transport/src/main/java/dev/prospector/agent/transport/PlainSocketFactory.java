package dev.prospector.agent.transport;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import javax.net.SocketFactory;

/**
 * Plain TCP sockets for Paho with Nagle's algorithm off ({@code TCP_NODELAY}) and a buffered input
 * stream; Paho sets no socket option of its own and reads each packet's fixed header one byte per
 * {@code read(2)} from the socket's raw stream (its {@code MqttInputStream}: {@code readByte}, then
 * the remaining length byte by byte, then the rest), three to five system calls a packet where one
 * buffered read takes several packets at once.
 *
 * <p>Nagle's algorithm holds a small packet back while an earlier one is unacknowledged, until the
 * peer's (delayed) ACK; MQTT packets are whole messages written at once, so it has nothing to
 * coalesce and only adds waits. (The same waits on the broker's side, for its writes to boards, are
 * what Mosquitto's {@code set_tcp_nodelay} removes: docs/NETWORK.md.) TLS connections get
 * {@code TCP_NODELAY} from {@link TlsSocketFactories}; an SSL socket's input is read a TLS record at
 * a time already.
 */
final class PlainSocketFactory extends SocketFactory {
    static final PlainSocketFactory INSTANCE = new PlainSocketFactory();

    private PlainSocketFactory() {}

    /** Bytes read ahead from the socket at most: several reports, a few dozen acknowledgements. */
    static final int READ_BUFFER = 16 * 1024;

    /** What Paho uses: an unconnected socket it connects itself. */
    @Override
    public Socket createSocket() throws IOException {
        return createUnconnected();
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return connected(new InetSocketAddress(host, port), null);
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return connected(new InetSocketAddress(host, port), new InetSocketAddress(localHost, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return connected(new InetSocketAddress(host, port), null);
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
            throws IOException {
        return connected(new InetSocketAddress(address, port), new InetSocketAddress(localAddress, localPort));
    }

    private static Socket connected(InetSocketAddress to, InetSocketAddress from) throws IOException {
        Socket s = createUnconnected();
        try {
            if (from != null) {
                s.bind(from);
            }
            s.connect(to);
            return s;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    private static Socket createUnconnected() throws IOException {
        return noDelay(new BufferedInputSocket());
    }

    /** A socket whose input stream reads ahead ({@link #READ_BUFFER}); the same stream on every call. */
    static final class BufferedInputSocket extends Socket {
        private InputStream in;

        @Override
        public synchronized InputStream getInputStream() throws IOException {
            if (in == null) {
                in = new BufferedInputStream(super.getInputStream(), READ_BUFFER);
            }
            return in;
        }
    }

    static Socket noDelay(Socket socket) throws IOException {
        socket.setTcpNoDelay(true);
        return socket;
    }
}
