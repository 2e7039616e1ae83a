package org.eclipse.paho.mqttv5.common.packet.util;

import java.io.IOException;
import java.io.InputStream;

/**
 * Prospector's replacement for Paho 1.2.5's class of this name, which this module's jar puts ahead
 * of Paho's own on every class path (see {@code dev.prospector.agent.transport.PahoReadPatch}).
 *
 * <h2>Why</h2>
 * Paho decodes every packet it receives through this stream (a {@code ByteArrayInputStream} of the
 * packet, wrapped here to count the bytes read, wrapped in a {@code DataInputStream}). Paho's class
 * overrides only {@link #read()}, so {@code readFully} of a PUBLISH's payload falls back to
 * {@link InputStream#read(byte[], int, int)}, which copies one byte per call: two passes over each
 * payload of one synchronized {@code ByteArrayInputStream.read()} a byte. For a 2 KB report that is
 * most of the CPU the client spends receiving it: a bare Paho consumer that acknowledges and
 * answers each 2 KB message through Mosquitto on loopback took 85-96 µs of CPU a message with
 * Paho's class and 25-33 µs with this one, and drained 9,500-10,100 messages/s against
 * 17,900-20,200 (docs/BENCHMARKS.md, "The MQTT client's receive path"). Paho 1.2.5 is the last
 * release of the MQTT 5 client; when a later one fixes this, this class goes.
 *
 * <h2>Same behaviour</h2>
 * Same constructor, same public methods, same counter: the bulk read counts exactly the bytes it
 * returns, as the byte-at-a-time default did, and end of stream is -1 without counting.
 * {@code PahoReadPatchTest} decodes packets that Paho encoded, through this class, and compares.
 */
public class CountingInputStream extends InputStream {
    private final InputStream inputStream;
    private int counter;

    /** Counts the bytes read from {@code inputStream}. */
    public CountingInputStream(InputStream inputStream) {
        this.inputStream = inputStream;
        this.counter = 0;
    }

    @Override
    public int read() throws IOException {
        int b = inputStream.read();
        if (b != -1) {
            counter++;
        }
        return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = inputStream.read(b, off, len);
        if (n > 0) {
            counter += n;
        }
        return n;
    }

    /** Bytes read so far (since the last {@link #resetCounter}). */
    public int getCounter() {
        return counter;
    }

    /** Starts counting from zero. */
    public void resetCounter() {
        counter = 0;
    }
}
