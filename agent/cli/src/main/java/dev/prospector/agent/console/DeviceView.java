package dev.prospector.agent.console;

import com.upokecenter.cbor.CBORObject;
import com.upokecenter.cbor.CBORType;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.Hex;
import dev.prospector.attest.KeyRotation;
import dev.prospector.attest.MalformedReportException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

/**
 * What the console knows of one device from the broker's retained messages: its birth/will on
 * {@code <device>/state} and its compact state on {@code <device>/summary}. Neither is signed (a
 * board publishes them before anyone could check), so the console uses the key in a birth only if
 * it hashes to the device id, or the rotation chain in the birth leads to it from the key that
 * does: then a forged birth cannot make a forged result verify.
 */
public record DeviceView(
        String device,
        boolean online,
        Optional<Instant> lastSeen,
        String version,
        String board,
        Optional<byte[]> key,
        String keyProblem,
        List<String> groups,
        Optional<CBORObject> summary) {

    /** A view with nothing but the device id. */
    static DeviceView of(String device) {
        return new DeviceView(
                device,
                false,
                Optional.empty(),
                "",
                "",
                Optional.empty(),
                "no birth message",
                List.of(),
                Optional.empty());
    }

    /** This view with a (JSON) birth or will message. */
    DeviceView withState(byte[] json) {
        CBORObject o;
        try {
            o = CBORObject.FromJSONBytes(json);
        } catch (RuntimeException e) {
            return this;
        }
        if (o.getType() != CBORType.Map) {
            return this;
        }
        boolean isOnline = o.get("online") != null && o.get("online").isTrue();
        if (!isOnline) {
            return new DeviceView(device, false, lastSeen, version, board, key, keyProblem, groups, summary);
        }
        Optional<Instant> seen = time(o.get("time")).or(() -> lastSeen);
        String v = text(o, "version", version);
        String b = text(o, "board", board);
        Optional<byte[]> k = Optional.empty();
        String problem = "";
        try {
            byte[] current = Hex.decode(text(o, "key_hex", ""));
            List<KeyRotation> rotations = new ArrayList<>();
            CBORObject rot = o.get("rot");
            if (rot != null && rot.getType() == CBORType.Array) {
                for (int i = 0; i < rot.size(); i++) {
                    var r = KeyRotation.decode(
                            Base64.getDecoder().decode(rot.get(i).AsString()));
                    if (!r.verifySignature()) {
                        throw new MalformedReportException("rotation " + (i + 1) + " has a bad signature");
                    }
                    rotations.add(r);
                }
            }
            KeyRotation.checkChain(rotations);
            byte[] first = rotations.isEmpty() ? current : rotations.get(0).oldKey();
            byte[] last = rotations.isEmpty()
                    ? current
                    : rotations.get(rotations.size() - 1).newKey();
            if (current.length != 32 || !DeviceId.of(first).value().equals(device) || !Arrays.equals(last, current)) {
                problem = "the birth's key does not belong to device " + device;
            } else {
                k = Optional.of(current);
            }
        } catch (RuntimeException | MalformedReportException e) {
            problem = "the birth's key is unreadable: " + e.getMessage();
        }
        return new DeviceView(device, true, seen, v, b, k, problem, groups, summary);
    }

    /** This view with a (JSON) compact state message. */
    DeviceView withSummary(byte[] json) {
        CBORObject o;
        try {
            o = CBORObject.FromJSONBytes(json);
        } catch (RuntimeException e) {
            return this;
        }
        if (o.getType() != CBORType.Map) {
            return this;
        }
        List<String> g = new ArrayList<>();
        CBORObject gs = o.get("groups");
        if (gs != null && gs.getType() == CBORType.Array) {
            for (int i = 0; i < gs.size(); i++) {
                if (gs.get(i).getType() == CBORType.TextString) {
                    g.add(gs.get(i).AsString());
                }
            }
        }
        Optional<Instant> t = time(o.get("time"));
        Optional<Instant> seen =
                t.isPresent() && (lastSeen.isEmpty() || t.get().isAfter(lastSeen.get())) ? t : lastSeen;
        return new DeviceView(
                device,
                online,
                seen,
                text(o, "version", version),
                board,
                key,
                keyProblem,
                List.copyOf(g),
                Optional.of(o));
    }

    /** "accepted", "rejected: REASON detail" or "" from the compact state's last receipt. */
    public String lastReport() {
        if (summary.isEmpty() || summary.get().get("last_receipt") == null) {
            return "";
        }
        CBORObject r = summary.get().get("last_receipt");
        boolean ok = r.get("ok") != null && r.get("ok").isTrue();
        return ok ? "accepted" : "rejected: " + text(r, "reason", "") + " " + text(r, "detail", "");
    }

    private static Optional<Instant> time(CBORObject o) {
        if (o == null || o.getType() != CBORType.TextString) {
            return Optional.empty();
        }
        try {
            return Optional.of(Instant.parse(o.AsString()));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    private static String text(CBORObject o, String key, String fallback) {
        CBORObject v = o.get(key);
        return v != null && v.getType() == CBORType.TextString ? v.AsString() : fallback;
    }
}
