package dev.prospector.agent.fleet;

import dev.prospector.attest.Hex;
import dev.prospector.attest.OperatorKey;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The operator keys a board obeys, each with its role: from {@code --operator-key FILE[:ROLE]}
 * (role {@code operator} when omitted) or the configuration file's {@code operator-key} lines.
 * Looked up by key id (the {@code kid} of a command).
 */
public final class TrustedOperators {
    /** One trusted key: its raw public key, role and where it came from. */
    public record Operator(byte[] publicKey, Role role, String source) {
        public String keyId() {
            return Hex.encode(OperatorKey.keyId(publicKey));
        }
    }

    /** A parsed {@code FILE[:ROLE]}. */
    public record Spec(Path file, Role role) {
        /** Parses {@code FILE[:ROLE]}; a suffix that is not a role is part of the file name. */
        public static Spec parse(String text) {
            int colon = text.lastIndexOf(':');
            if (colon > 0) {
                String suffix = text.substring(colon + 1);
                for (Role r : Role.values()) {
                    if (r.label().equals(suffix)) {
                        return new Spec(Path.of(text.substring(0, colon)), r);
                    }
                }
            }
            return new Spec(Path.of(text), Role.OPERATOR);
        }

        @Override
        public String toString() {
            return file + ":" + role.label();
        }
    }

    private final Map<ByteBuffer, Operator> byId;

    private TrustedOperators(Map<ByteBuffer, Operator> byId) {
        this.byId = Map.copyOf(byId);
    }

    public static TrustedOperators none() {
        return new TrustedOperators(Map.of());
    }

    /** Reads each key file; a key listed twice with different roles is refused. */
    public static TrustedOperators load(List<Spec> specs) {
        var map = new HashMap<ByteBuffer, Operator>();
        for (Spec s : specs) {
            byte[] key = OperatorKey.readPublicKey(s.file());
            var op = new Operator(key, s.role(), s.file().toString());
            var old = map.putIfAbsent(ByteBuffer.wrap(OperatorKey.keyId(key)), op);
            if (old != null && old.role() != s.role()) {
                throw new IllegalArgumentException("operator key " + s.file() + " is listed twice, as "
                        + old.role().label() + " and " + s.role().label() + "; list it once");
            }
        }
        return new TrustedOperators(map);
    }

    /** Keys given directly (tests, benchmarks). */
    public static TrustedOperators of(List<Operator> operators) {
        var map = new HashMap<ByteBuffer, Operator>();
        for (Operator o : operators) {
            map.put(ByteBuffer.wrap(OperatorKey.keyId(o.publicKey())), o);
        }
        return new TrustedOperators(map);
    }

    public Optional<Operator> byKeyId(byte[] kid) {
        return Optional.ofNullable(byId.get(ByteBuffer.wrap(kid)));
    }

    public boolean isEmpty() {
        return byId.isEmpty();
    }

    public int size() {
        return byId.size();
    }

    @Override
    public String toString() {
        var parts = new ArrayList<String>();
        byId.values()
                .forEach(o ->
                        parts.add(o.keyId().substring(0, 8) + "(" + o.role().label() + ")"));
        return String.join(", ", parts);
    }
}
