package dev.prospector.attest;

import java.time.Instant;
import java.util.Arrays;
import java.util.Set;

/**
 * A board's answer to a {@link FleetCommand}, published on
 * {@code prospector/v1/<fleet>/<device>/cmd/result}: a tagged COSE_Sign1 signed by the device's
 * key ({@code kid} = the device id, as for reports), whose payload is the deterministic CBOR map
 *
 * <pre>
 * {"v": 1, "cmd": tstr, "dev": tstr, "status": "ok" / "refused" / "failed" / "pending",
 *  "reason": tstr, "result": map, "hash": bstr(32), "at": uint ms}
 * </pre>
 *
 * {@code cmd} is the command's id (empty when the board could not read one), {@code hash} SHA-256
 * of the command's bytes as received (so an operator can match even the answer to an unreadable
 * command), {@code at} the board's clock. Decoding is as strict as {@link FleetCommand}'s.
 */
public record CommandResult(
        String commandId,
        DeviceId device,
        String status,
        String reason,
        Cbor.MapValue result,
        byte[] commandHash,
        Instant at) {
    public static final int VERSION = 1;
    public static final int MAX_BYTES = 16 * 1024;
    public static final Set<String> STATUSES = Set.of("ok", "refused", "failed", "pending");
    private static final Set<String> KEYS = Set.of("v", "cmd", "dev", "status", "reason", "result", "hash", "at");

    public CommandResult {
        if (!STATUSES.contains(status)) {
            throw new IllegalArgumentException("result status '" + status + "' is not one of " + STATUSES);
        }
        if (commandId.length() > 64 || commandHash.length != Sha256.BYTES) {
            throw new IllegalArgumentException("a result names a command id of at most 64 characters and its hash");
        }
        reason = reason.length() > 1024 ? reason.substring(0, 1024) : reason;
        commandHash = commandHash.clone();
        at = Instant.ofEpochMilli(at.toEpochMilli());
    }

    @Override
    public byte[] commandHash() {
        return commandHash.clone();
    }

    public byte[] encodePayload() {
        return Cbor.encode(Cbor.map()
                .put("v", new Cbor.Int(VERSION))
                .put("cmd", new Cbor.Text(commandId))
                .put("dev", new Cbor.Text(device.value()))
                .put("status", new Cbor.Text(status))
                .put("reason", new Cbor.Text(reason))
                .put("result", result)
                .put("hash", new Cbor.Bytes(commandHash))
                .put("at", new Cbor.Int(at.toEpochMilli()))
                .build());
    }

    /** The result as published: signed by the device's current key, kid = the device id. */
    public byte[] sign(DeviceKeys keys) {
        if (!keys.deviceId().equals(device)) {
            throw new IllegalArgumentException("a result is signed by its own device's key");
        }
        byte[] bytes = CoseSign1.sign(device.kid(), encodePayload(), keys);
        if (bytes.length > MAX_BYTES) {
            // Never lose the answer for the size of its result: say so instead.
            return new CommandResult(
                            commandId,
                            device,
                            status.equals("ok") ? "failed" : status,
                            "result of " + bytes.length + " bytes exceeds the limit of " + MAX_BYTES,
                            Cbor.map().build(),
                            commandHash,
                            at)
                    .sign(keys);
        }
        return bytes;
    }

    /** A decoded result, its signature not yet checked. */
    public record Decoded(CommandResult result, CoseSign1.Parts cose) {
        /** True if signed by {@code rawPublicKey}. */
        public boolean verify(byte[] rawPublicKey) {
            return cose.verify(rawPublicKey);
        }
    }

    public static Decoded decode(byte[] bytes) throws MalformedReportException {
        if (bytes.length == 0 || bytes.length > MAX_BYTES) {
            throw new MalformedReportException("result of " + bytes.length + " bytes is empty or exceeds " + MAX_BYTES);
        }
        var parts = CoseSign1.decode(bytes);
        if (!(Cbor.decode(parts.payload()) instanceof Cbor.MapValue m)
                || m.entries().size() != KEYS.size()) {
            throw new MalformedReportException("result payload is not a map of exactly " + KEYS);
        }
        for (var e : m.entries()) {
            if (!(e.key() instanceof Cbor.Text t) || !KEYS.contains(t.value())) {
                throw new MalformedReportException("result payload has an unknown key");
            }
        }
        if (Claims.uint(m, "v") != VERSION) {
            throw new MalformedReportException("result version is not " + VERSION);
        }
        String dev = Claims.text(m, "dev");
        if (!DeviceId.isValid(dev) || !new DeviceId(dev).matchesKid(parts.kid())) {
            throw new MalformedReportException("result dev is not a device id equal to its kid");
        }
        if (!(m.get("result").orElse(null) instanceof Cbor.MapValue result)) {
            throw new MalformedReportException("result's result is not a map");
        }
        try {
            return new Decoded(
                    new CommandResult(
                            Claims.text(m, "cmd"),
                            new DeviceId(dev),
                            Claims.text(m, "status"),
                            Claims.text(m, "reason"),
                            result,
                            Claims.bytes(m, "hash", Sha256.BYTES, Sha256.BYTES),
                            Instant.ofEpochMilli(Claims.uint(m, "at"))),
                    parts);
        } catch (IllegalArgumentException | java.time.DateTimeException e) {
            throw new MalformedReportException(e.getMessage());
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CommandResult r && Arrays.equals(encodePayload(), r.encodePayload());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(encodePayload());
    }

    @Override
    public String toString() {
        return "CommandResult[" + commandId + " " + device + " " + status + " " + reason + "]";
    }
}
