package dev.prospector.agent.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.attest.DeviceKeys;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DeviceViewTest {
    @Test
    void instantsAreReadAsInstantParseReadsThem() {
        for (String s : List.of(
                "2026-12-01T15:47:01Z",
                "2026-12-01T15:47:01.6Z",
                "2026-12-01T15:47:01.618Z",
                "2026-12-01T15:47:01.618597041Z",
                "1970-01-01T00:00:00Z",
                "2024-02-29T23:59:59.999999999Z")) {
            assertEquals(Instant.parse(s), DeviceView.fastInstant(s), s);
        }
        assertEquals(Instant.parse("2026-12-01T15:47:01+01:00"), DeviceView.fastInstant("2026-12-01T15:47:01+01:00"));
        assertThrows(RuntimeException.class, () -> DeviceView.fastInstant("2026-12-01T15:4x:01Z"));
    }

    @Test
    void aBirthsKeyCountsOnlyIfItIsTheDevicesOwn() {
        DeviceKeys k = DeviceKeys.generate();
        String own = "{\"online\":true,\"key_hex\":\"" + HexFormat.of().formatHex(k.publicKey())
                + "\",\"time\":\"2026-12-01T15:47:01Z\",\"version\":\"1\",\"board\":\"pi\"}";
        var v = DeviceView.of(k.deviceId().value()).withState(own.getBytes(StandardCharsets.UTF_8));
        assertTrue(v.online() && v.key().isPresent() && v.keyProblem().isEmpty());
        var other =
                DeviceView.of(DeviceKeys.generate().deviceId().value()).withState(own.getBytes(StandardCharsets.UTF_8));
        assertTrue(other.key().isEmpty() && other.keyProblem().contains("does not belong"));
        var garbage = v.withState("{\"online\":".getBytes(StandardCharsets.UTF_8));
        assertEquals(v, garbage, "an unreadable message changes nothing");
    }

    @Test
    void theJsonReaderIsStrictAndBounded() {
        assertEquals(
                Map.of("a", List.of(1L, "x", true), "b", Map.of("c", 2.5)),
                MiniJson.parse("{\"a\":[1,\"x\",true],\"b\":{\"c\":2.5}}".getBytes(StandardCharsets.UTF_8)));
        assertEquals("q\"\n\u00e9", MiniJson.parse("\"q\\\"\\n\\u00e9\"".getBytes(StandardCharsets.UTF_8)));
        assertThrows(
                IllegalArgumentException.class, () -> MiniJson.parse("{\"a\":1} x".getBytes(StandardCharsets.UTF_8)));
        assertThrows(
                IllegalArgumentException.class,
                () -> MiniJson.parse("[".repeat(100).getBytes(StandardCharsets.UTF_8)));
        assertThrows(
                IllegalArgumentException.class, () -> MiniJson.parse("{\"a\" 1}".getBytes(StandardCharsets.UTF_8)));
    }
}
