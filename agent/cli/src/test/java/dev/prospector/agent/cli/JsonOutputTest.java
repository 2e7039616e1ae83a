package dev.prospector.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.hardware.Reading;
import dev.prospector.hardware.Snapshot;
import dev.prospector.hardware.board.BoardInfo;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The numbers in what the commands print as JSON: plain, as a person or a script expects them. */
class JsonOutputTest {
    @Test
    void wholeNumbersHaveNoExponentAndBinaryNoiseIsRoundedAway() {
        assertEquals("1000000000", JsonOutput.number(1e9));
        assertEquals("0.7253", JsonOutput.number(0.7253000000000001));
        assertEquals("0.3", JsonOutput.number(0.1 + 0.2));
        assertEquals("100000000000000000000", JsonOutput.number(1e20));
        assertEquals("0.00000015", JsonOutput.number(1.5e-7));
        assertEquals("-2.5", JsonOutput.number(-2.5));
        assertEquals("0", JsonOutput.number(-0.0));
        assertEquals("1234567.891", JsonOutput.number(1234567.891), "real digits are kept");
        assertEquals("null", JsonOutput.number(Double.NaN));
    }

    @Test
    void objectsKeepTheirOrderAndEveryOtherValueAsCborWritesIt() {
        CBORObject o = CBORObject.NewOrderedMap()
                .Add("z", 1e9)
                .Add(
                        "a",
                        CBORObject.NewArray()
                                .Add(0.7253000000000001)
                                .Add(Long.MAX_VALUE)
                                .Add(CBORObject.Null))
                .Add("text", "say \"hi\"\n")
                .Add("ok", true)
                .Add("nested", CBORObject.NewOrderedMap().Add("x", 2.0));
        assertEquals(
                "{\"z\":1000000000,\"a\":[0.7253,9223372036854775807,null],\"text\":\"say \\\"hi\\\"\\n\",\"ok\":true,"
                        + "\"nested\":{\"x\":2}}",
                JsonOutput.of(o));
        assertEquals(
                o.get("text").AsString(),
                CBORObject.FromJSONString(JsonOutput.of(o)).get("text").AsString(),
                "valid JSON");
    }

    @Test
    void hardwareJsonPrintsReadingsPlainly() {
        Instant now = Instant.parse("2024-05-01T12:00:00Z");
        String json = HardwareCommand.json(
                new BoardInfo("test", "Test board", "aarch64", true),
                new Snapshot(
                        now,
                        Optional.empty(),
                        List.of(
                                new Reading.Value("link_speed", 1e9, "bit/s", "test", now),
                                new Reading.Value("load", 0.7253000000000001, "1", "test", now))));
        assertTrue(json.contains("\"value\":1000000000,"), json);
        assertTrue(json.contains("\"value\":0.7253,"), json);
        assertFalse(json.contains("E+"), json);
    }
}
