package dev.prospector.agent.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.InputStream;
import java.util.Properties;
import java.util.Random;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.eclipse.paho.mqttv5.common.packet.MqttPubAck;
import org.eclipse.paho.mqttv5.common.packet.MqttPublish;
import org.eclipse.paho.mqttv5.common.packet.MqttReturnCode;
import org.eclipse.paho.mqttv5.common.packet.MqttWireMessage;
import org.eclipse.paho.mqttv5.common.packet.util.CountingInputStream;
import org.junit.jupiter.api.Test;

/** Our bulk-reading {@link CountingInputStream} is the one loaded, and Paho decodes the same with it. */
class PahoReadPatchTest {

    @Test
    void theBulkReadingStreamIsTheOneLoaded() {
        assertTrue(
                PahoReadPatch.active(),
                "Paho's CountingInputStream was loaded before prospector-agent-transport's: "
                        + CountingInputStream.class.getProtectionDomain().getCodeSource());
    }

    /**
     * The patch replaces a class of Paho 1.2.5 by name. A new Paho version may change that class or
     * fix it: check, then move this pin.
     */
    @Test
    void pahoIsTheVersionThePatchWasWrittenFor() throws Exception {
        Properties p = new Properties();
        try (InputStream in = MqttPublish.class.getResourceAsStream(
                "/META-INF/maven/org.eclipse.paho/org.eclipse.paho.mqttv5.client/pom.properties")) {
            p.load(in);
        }
        assertEquals("1.2.5", p.getProperty("version"), "re-check PahoReadPatch against this Paho version");
    }

    @Test
    void countsExactlyTheBytesEveryKindOfReadReturns() throws Exception {
        byte[] data = new byte[5000];
        new Random(7).nextBytes(data);
        var counting = new CountingInputStream(new ByteArrayInputStream(data));
        var in = new DataInputStream(counting);
        assertEquals(data[0] & 0xff, in.read());
        assertEquals(1, counting.getCounter());
        byte[] two = new byte[2000];
        in.readFully(two);
        assertEquals(2001, counting.getCounter());
        assertEquals(data[2000], two[1999]);
        assertEquals(100, in.skip(100));
        assertEquals(2101, counting.getCounter());
        byte[] rest = new byte[4000];
        assertEquals(2899, in.read(rest, 0, rest.length));
        assertEquals(5000, counting.getCounter());
        assertEquals(-1, in.read(rest, 0, 10));
        assertEquals(-1, in.read());
        assertEquals(5000, counting.getCounter(), "end of stream counts nothing");
        counting.resetCounter();
        assertEquals(0, counting.getCounter());
    }

    @Test
    void pahoDecodesWhatItEncodedThroughTheBulkStream() throws Exception {
        byte[] payload = new byte[2065];
        new Random(11).nextBytes(payload);
        MqttMessage message = new MqttMessage(payload);
        message.setQos(1);
        MqttProperties properties = new MqttProperties();
        properties.setCorrelationData(new byte[] {1, 2, 3});
        properties.setResponseTopic("prospector/v1/fleet/board-1/answer");
        message.setProperties(properties);
        MqttPublish sent = new MqttPublish("prospector/v1/fleet/board-1/report", message, properties);
        sent.setMessageId(4242);

        MqttWireMessage decoded = MqttWireMessage.createWireMessage(wire(sent));

        MqttPublish got = assertInstanceOf(MqttPublish.class, decoded);
        assertEquals("prospector/v1/fleet/board-1/report", got.getTopicName());
        assertEquals(4242, got.getMessageId());
        assertEquals(1, got.getMessage().getQos());
        assertArrayEquals(payload, got.getMessage().getPayload());
        assertArrayEquals(new byte[] {1, 2, 3}, got.getProperties().getCorrelationData());
        assertEquals("prospector/v1/fleet/board-1/answer", got.getProperties().getResponseTopic());

        MqttPubAck ack = new MqttPubAck(MqttReturnCode.RETURN_CODE_SUCCESS, 4242, new MqttProperties());
        MqttWireMessage ackBack = MqttWireMessage.createWireMessage(wire(ack));
        assertEquals(4242, assertInstanceOf(MqttPubAck.class, ackBack).getMessageId());
    }

    private static byte[] wire(MqttWireMessage m) throws Exception {
        var out = new ByteArrayOutputStream();
        out.write(m.getHeader());
        out.write(m.getPayload());
        return out.toByteArray();
    }
}
