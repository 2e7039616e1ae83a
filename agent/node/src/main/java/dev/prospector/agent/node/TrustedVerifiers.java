package dev.prospector.agent.node;

import dev.prospector.attest.CoseSign1;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.ReceiptBatch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * The verifier keys a board obeys. A receipt counts only when it is a COSE_Sign1 whose {@code kid}
 * names one of these keys and whose signature verifies under it: only then does the board take its
 * challenge, check its clock against it, and let the report it names leave the outbox. Anyone who
 * can publish on the board's receipt topic can send anything; without the key they cannot make the
 * board do anything but count the refusal.
 *
 * <p>Immutable and thread-safe. The decoded public points are kept, so a receipt costs one
 * signature verification and no key decompression.
 */
public final class TrustedVerifiers {
    /** Largest receipt accepted (a real one is about 400 bytes); anything larger is refused unread. */
    public static final int MAX_RECEIPT_BYTES = 8 * 1024;

    /** No trusted verifier: receipts are ignored and the broker's acknowledgement counts as delivery. */
    public static final TrustedVerifiers NONE = new TrustedVerifiers(List.of());

    private record Key(String name, byte[] kid, Ed25519.PublicPoint point) {}

    private final List<Key> keys;

    private TrustedVerifiers(List<Key> keys) {
        this.keys = List.copyOf(keys);
    }

    /** Trusts the raw 32-byte Ed25519 keys given (tests, the demo). */
    public static TrustedVerifiers of(List<byte[]> rawKeys) {
        List<Key> keys = new ArrayList<>();
        for (byte[] raw : rawKeys) {
            keys.add(key(raw, DeviceId.of(raw).value()));
        }
        return new TrustedVerifiers(keys);
    }

    /**
     * Trusts the public keys in these PEM files (SubjectPublicKeyInfo, as {@code prospector verifier}
     * writes to {@code receipt-key/device.pub}).
     *
     * @throws dev.prospector.attest.KeyCustodyException naming the file when one cannot be read
     */
    public static TrustedVerifiers load(List<Path> pemFiles) {
        List<Key> keys = new ArrayList<>();
        for (Path file : pemFiles) {
            keys.add(key(DeviceKeys.readPublicKey(file), file.toString()));
        }
        return new TrustedVerifiers(keys);
    }

    private static Key key(byte[] raw, String name) {
        Ed25519.PublicPoint point = Ed25519.validatePublicKeyFullExport(raw, 0);
        if (point == null) {
            throw new IllegalArgumentException("verifier key " + name + " is not a valid Ed25519 public key");
        }
        return new Key(name, DeviceId.of(raw).kid(), point);
    }

    public boolean isEmpty() {
        return keys.isEmpty();
    }

    public int size() {
        return keys.size();
    }

    /**
     * The receipt in {@code bytes} if it is signed by a trusted verifier key; empty for anything
     * else (too large, not COSE_Sign1, unknown kid, bad signature, malformed payload). Never throws.
     */
    public Optional<Receipt> verify(byte[] bytes) {
        if (keys.isEmpty() || bytes.length > MAX_RECEIPT_BYTES) {
            return Optional.empty();
        }
        try {
            ReceiptBatch.Opened opened = ReceiptBatch.open(bytes);
            CoseSign1.Parts parts = opened.signed();
            for (Key k : keys) {
                if (Arrays.equals(k.kid(), parts.kid())) {
                    return parts.verify(k.point()) ? Optional.of(opened.decode()) : Optional.empty();
                }
            }
            return Optional.empty();
        } catch (MalformedReportException | RuntimeException e) {
            return Optional.empty();
        }
    }

    @Override
    public String toString() {
        return keys.isEmpty()
                ? "no trusted verifier"
                : keys.stream().map(Key::name).toList().toString();
    }
}
