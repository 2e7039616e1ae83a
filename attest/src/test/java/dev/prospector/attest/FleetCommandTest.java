package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FleetCommandTest {
    private static final Instant NOW = Instant.parse("2026-12-01T12:00:00Z");

    @TempDir
    Path dir;

    private static FleetCommand command(Map<String, Object> args) {
        return new FleetCommand(
                "c1", "f", "all", "ping", FleetCommand.cborMap(args), new byte[16], NOW, NOW.plusSeconds(60));
    }

    @Test
    void signedCommandsDecodeAndVerifyUnderTheirKeyOnly() {
        OperatorKey key = OperatorKey.generate();
        var c = command(Map.of("seconds", 5L, "list", List.of("a", 1L), "nested", Map.of("x", true)));
        byte[] bytes = c.sign(key);
        var d = assertDoesNotThrowDecode(bytes);
        assertEquals(c, d.command());
        assertArrayEquals(key.keyId(), d.keyId());
        assertTrue(d.verify(key.publicKey()));
        assertFalse(d.verify(OperatorKey.generate().publicKey()));
        assertEquals(5L, d.command().plainArgs().get("seconds"));
    }

    private static FleetCommand.Decoded assertDoesNotThrowDecode(byte[] bytes) {
        try {
            return FleetCommand.decode(bytes);
        } catch (MalformedReportException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void badCommandsAreRefusedBeforeAnythingIsBuilt() {
        assertThrows(
                IllegalArgumentException.class,
                () -> new FleetCommand(
                        "c1",
                        "f",
                        "device:nobody",
                        "ping",
                        Cbor.map().build(),
                        new byte[16],
                        NOW,
                        NOW.plusSeconds(60)));
        assertThrows(
                IllegalArgumentException.class,
                () -> new FleetCommand(
                        "c1", "f", "all", "ping", Cbor.map().build(), new byte[15], NOW, NOW.plusSeconds(60)));
        assertThrows(
                IllegalArgumentException.class,
                () -> new FleetCommand(
                        "c1", "f", "all", "ping", Cbor.map().build(), new byte[16], NOW, NOW.plusSeconds(86_401)));
        assertThrows(
                IllegalArgumentException.class,
                () -> new FleetCommand(
                        "c 1", "f", "all", "ping", Cbor.map().build(), new byte[16], NOW, NOW.plusSeconds(60)));
        // args nested deeper than MAX_ARGS_DEPTH
        assertThrows(
                IllegalArgumentException.class, () -> command(Map.of("a", Map.of("b", Map.of("c", Map.of("d", 1L))))));
        // a command too big to send
        OperatorKey key = OperatorKey.generate();
        assertThrows(
                IllegalArgumentException.class,
                () -> command(Map.of("pad", "x".repeat(FleetCommand.MAX_BYTES))).sign(key));
    }

    @Test
    void aPayloadWithAnExtraOrMissingKeyIsMalformed() {
        OperatorKey key = OperatorKey.generate();
        byte[] payload = command(Map.of()).encodePayload();
        var m = (Cbor.MapValue) assertDoesNotThrowCbor(payload);
        var extra = new java.util.ArrayList<>(m.entries());
        extra.add(new Cbor.Entry(new Cbor.Text("zz"), new Cbor.Int(1)));
        byte[] withExtra = key.signCose(Cbor.encode(new Cbor.MapValue(extra)));
        assertThrows(MalformedReportException.class, () -> FleetCommand.decode(withExtra));
        byte[] missing = key.signCose(
                Cbor.encode(new Cbor.MapValue(m.entries().subList(1, m.entries().size()))));
        assertThrows(MalformedReportException.class, () -> FleetCommand.decode(missing));
        assertThrows(MalformedReportException.class, () -> FleetCommand.decode(new byte[0]));
        assertThrows(MalformedReportException.class, () -> FleetCommand.decode(new byte[FleetCommand.MAX_BYTES + 1]));
    }

    private static Cbor.Value assertDoesNotThrowCbor(byte[] b) {
        try {
            return Cbor.decode(b);
        } catch (MalformedReportException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void resultsAreSignedByTheirDevice() throws Exception {
        DeviceKeys device = DeviceKeys.generate();
        var r = new CommandResult(
                "c1", device.deviceId(), "refused", "why", Cbor.map().build(), new byte[32], NOW);
        var d = CommandResult.decode(r.sign(device));
        assertEquals(r, d.result());
        assertTrue(d.verify(device.publicKey()));
        assertFalse(d.verify(DeviceKeys.generate().publicKey()));
        assertThrows(IllegalArgumentException.class, () -> r.sign(DeviceKeys.generate()));
    }

    @Test
    void operatorKeysAreWrittenPrivateAndRefusedWhenExposed() throws Exception {
        OperatorKey key = OperatorKey.generate();
        key.write(dir);
        assertEquals(
                "rw-------",
                PosixFilePermissions.toString(
                        Files.getPosixFilePermissions(dir.resolve(OperatorKey.PRIVATE_KEY_FILE))));
        assertArrayEquals(key.publicKey(), OperatorKey.load(dir).publicKey());
        assertArrayEquals(key.publicKey(), OperatorKey.readPublicKey(dir.resolve(OperatorKey.PUBLIC_KEY_FILE)));
        assertThrows(KeyCustodyException.class, () -> key.write(dir), "an existing key is never overwritten");
        Files.setPosixFilePermissions(
                dir.resolve(OperatorKey.PRIVATE_KEY_FILE), PosixFilePermissions.fromString("rw-r--r--"));
        assertThrows(KeyCustodyException.class, () -> OperatorKey.load(dir));
    }
}
