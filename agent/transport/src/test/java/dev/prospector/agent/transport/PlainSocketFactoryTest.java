package dev.prospector.agent.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import org.junit.jupiter.api.Test;

class PlainSocketFactoryTest {

    @Test
    void socketsHaveNagleOffAndReadAheadThroughOneStream() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            for (boolean unconnected : new boolean[] {true, false}) {
                Socket s = unconnected
                        ? PlainSocketFactory.INSTANCE.createSocket()
                        : PlainSocketFactory.INSTANCE.createSocket(
                                InetAddress.getLoopbackAddress(), server.getLocalPort());
                try (s) {
                    if (unconnected) {
                        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()));
                    }
                    try (Socket peer = server.accept()) {
                        assertTrue(s.getTcpNoDelay(), "TCP_NODELAY");
                        assertInstanceOf(BufferedInputStream.class, s.getInputStream());
                        assertSame(s.getInputStream(), s.getInputStream(), "one stream: nothing read ahead is lost");
                        byte[] packet = {0x30, 3, 'a', 'b', 'c', (byte) 0x40, 2, 0, 1};
                        OutputStream out = peer.getOutputStream();
                        out.write(packet);
                        out.flush();
                        var in = new DataInputStream(s.getInputStream());
                        byte[] back = new byte[packet.length];
                        in.readFully(back);
                        assertArrayEquals(packet, back);
                    }
                }
            }
        }
    }
}
