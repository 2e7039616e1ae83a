package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** Receipts under one signature: each proves itself under the signed root, and nothing else does. */
class ReceiptBatchTest {
    private static final DeviceKeys VERIFIER = DeviceKeys.fromSeed(new byte[32]);
    private static final DeviceKeys OTHER = DeviceKeys.fromSeed(filled(7));
    private static final List<String> DEVICES = java.util.stream.IntStream.range(10, 17)
            .mapToObj(i -> DeviceKeys.fromSeed(filled(i)).deviceId().value())
            .toList();

    @Test
    void aBatchOfOneIsTheReceiptSignedAlone() throws Exception {
        Receipt r = receipt(DEVICES.get(1), 1);
        List<byte[]> out = ReceiptBatch.sign(List.of(r), VERIFIER);
        assertArrayEquals(r.sign(VERIFIER), out.get(0), "Ed25519 is deterministic: byte for byte the old form");
        assertEquals(r, Receipt.verify(out.get(0), VERIFIER.publicKey()));
        assertEquals(1, ReceiptBatch.open(out.get(0)).batchSize());
    }

    @Test
    void everyReceiptOfBatchesOfEverySizeVerifiesAndSaysWhatItSaid() throws Exception {
        for (int n : new int[] {2, 3, 5, 7, 8, 9, 16, 17, 63, 64, 100, ReceiptBatch.MAX_LEAVES}) {
            List<Receipt> receipts = receipts(n);
            List<byte[]> out = ReceiptBatch.sign(receipts, VERIFIER);
            assertEquals(n, out.size());
            for (int i = 0; i < n; i++) {
                assertEquals(
                        receipts.get(i), Receipt.verify(out.get(i), VERIFIER.publicKey()), "leaf " + i + " of " + n);
                var opened = ReceiptBatch.open(out.get(i));
                assertEquals(n, opened.batchSize());
                assertTrue(pathOf(out.get(i)).size() <= ReceiptBatch.MAX_PATH);
            }
        }
    }

    @Test
    void oneSignatureCoversTheWholeBatch() throws Exception {
        List<byte[]> out = ReceiptBatch.sign(receipts(10), VERIFIER);
        byte[] root = ReceiptBatch.open(out.get(0)).signed().signature();
        for (byte[] m : out) {
            assertArrayEquals(root, ReceiptBatch.open(m).signed().signature());
        }
    }

    @Test
    void aReceiptSignedByAnotherKeyIsRefused() {
        List<byte[]> out = ReceiptBatch.sign(receipts(4), OTHER);
        var e = assertThrows(MalformedReportException.class, () -> Receipt.verify(out.get(2), VERIFIER.publicKey()));
        assertTrue(e.getMessage().contains("not signed by the verifier's key"), e.getMessage());
    }

    @Test
    void aForgedReceiptUnderAGenuineRootIsRefused() {
        List<byte[]> out = ReceiptBatch.sign(receipts(8), VERIFIER);
        // An attacker keeps the genuine root and path, and puts a receipt of their own in.
        Receipt forged = receipt(DEVICES.get(3), 99);
        byte[] message = with(out.get(3), "receipt", new Cbor.Bytes(forged.encode()));
        var e = assertThrows(MalformedReportException.class, () -> Receipt.verify(message, VERIFIER.publicKey()));
        assertTrue(e.getMessage().contains("not under its signed root"), e.getMessage());
    }

    @Test
    void aGenuineReceiptWithAnotherLeafsIndexOrATamperedPathIsRefused() throws Exception {
        List<byte[]> out = ReceiptBatch.sign(receipts(8), VERIFIER);
        assertThrows(
                MalformedReportException.class,
                () -> Receipt.verify(with(out.get(3), "leaf", new Cbor.Int(4)), VERIFIER.publicKey()));
        List<Cbor.Value> path = new ArrayList<>(pathOf(out.get(3)));
        byte[] first = ((Cbor.Bytes) path.get(0)).value().clone();
        first[0] ^= 1;
        path.set(0, new Cbor.Bytes(first));
        assertThrows(
                MalformedReportException.class,
                () -> Receipt.verify(with(out.get(3), "path", new Cbor.Array(path)), VERIFIER.publicKey()));
        List<Cbor.Value> shorter = pathOf(out.get(3)).subList(0, 2);
        assertThrows(
                MalformedReportException.class,
                () -> Receipt.verify(with(out.get(3), "path", new Cbor.Array(shorter)), VERIFIER.publicKey()));
    }

    @Test
    void aReceiptOfOneBatchDoesNotProveUnderAnotherBatchsRoot() throws Exception {
        List<byte[]> a = ReceiptBatch.sign(receipts(8), VERIFIER);
        List<Receipt> reversed = new ArrayList<>(receipts(8));
        java.util.Collections.reverse(reversed);
        List<byte[]> b = ReceiptBatch.sign(reversed, VERIFIER);
        Cbor.Value rootOfB = field(b.get(0), "root");
        byte[] mixed = with(a.get(1), "root", rootOfB);
        assertThrows(MalformedReportException.class, () -> Receipt.verify(mixed, VERIFIER.publicKey()));
    }

    @Test
    void boundsAreCheckedBeforeAnyHashing() {
        List<byte[]> out = ReceiptBatch.sign(receipts(4), VERIFIER);
        List<Cbor.Value> tooLong = new ArrayList<>();
        for (int i = 0; i <= ReceiptBatch.MAX_PATH; i++) {
            tooLong.add(new Cbor.Bytes(new byte[32]));
        }
        var e = assertThrows(
                MalformedReportException.class,
                () -> ReceiptBatch.open(with(out.get(0), "path", new Cbor.Array(tooLong))));
        assertTrue(e.getMessage().contains("longer than"), e.getMessage());
        var index = assertThrows(
                MalformedReportException.class, () -> ReceiptBatch.open(with(out.get(0), "leaf", new Cbor.Int(4))));
        assertTrue(index.getMessage().contains("leaf 4 of 4"), index.getMessage());
        assertThrows(MalformedReportException.class, () -> ReceiptBatch.open(new byte[Limits.MAX_REPORT_BYTES + 1]));
        assertThrows(IllegalArgumentException.class, () -> ReceiptBatch.sign(List.of(), VERIFIER));
        assertThrows(
                IllegalArgumentException.class,
                () -> ReceiptBatch.sign(receipts(ReceiptBatch.MAX_LEAVES + 1), VERIFIER));
    }

    @Test
    void theRootStatementIsNoReceiptAndAReceiptIsNoStatement() throws Exception {
        List<byte[]> out = ReceiptBatch.sign(receipts(4), VERIFIER);
        byte[] rootMessage = ((Cbor.Bytes) field(out.get(0), "root")).value();
        // The signed root alone, sent as a receipt: it verifies as a signature but is no receipt.
        assertThrows(MalformedReportException.class, () -> Receipt.verify(rootMessage, VERIFIER.publicKey()));
    }

    @Test
    void inclusionFollowsRfc9162ForAHandBuiltTree() {
        byte[] a = ReceiptBatch.leafHash(new byte[] {'a'});
        byte[] b = ReceiptBatch.leafHash(new byte[] {'b'});
        byte[] c = ReceiptBatch.leafHash(new byte[] {'c'});
        byte[] ab = Sha256.ofParts(new byte[] {1}, a, b);
        byte[] root = Sha256.ofParts(new byte[] {1}, ab, c);
        assertTrue(ReceiptBatch.included(a, 0, 3, List.of(b, c), root));
        assertTrue(ReceiptBatch.included(b, 1, 3, List.of(a, c), root));
        assertTrue(ReceiptBatch.included(c, 2, 3, List.of(ab), root));
        assertTrue(!ReceiptBatch.included(c, 2, 3, List.of(ab, ab), root), "a path too long for its place");
        // The tree's size comes from the signed statement: with it, a path one level short fails.
        assertTrue(!ReceiptBatch.included(ab, 0, 3, List.of(c), root), "a path too short for a tree of 3");
    }

    private static List<Receipt> receipts(int n) {
        List<Receipt> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(receipt(DEVICES.get(i % DEVICES.size()), i + 1));
        }
        return out;
    }

    private static Receipt receipt(String device, long seq) {
        byte[] hash = Sha256.of((device + "#" + seq).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return new Receipt(
                true,
                Optional.empty(),
                "accepted " + device + " seq " + seq,
                Optional.of(new DeviceId(device)),
                OptionalLong.of(seq),
                false,
                0,
                false,
                hash,
                Instant.ofEpochMilli(1_790_000_000_000L + seq),
                Duration.ofMinutes(5));
    }

    private static List<Cbor.Value> pathOf(byte[] message) throws MalformedReportException {
        return ((Cbor.Array) field(message, "path")).items();
    }

    private static Cbor.Value field(byte[] message, String key) throws MalformedReportException {
        return ((Cbor.MapValue) Cbor.decode(message)).get(key).orElseThrow();
    }

    /** The batched receipt {@code message} with {@code key} set to {@code value}. */
    private static byte[] with(byte[] message, String key, Cbor.Value value) {
        try {
            var m = (Cbor.MapValue) Cbor.decode(message);
            var b = Cbor.map();
            for (Cbor.Entry e : m.entries()) {
                String k = ((Cbor.Text) e.key()).value();
                b.put(k, k.equals(key) ? value : e.value());
            }
            return Cbor.encode(b.build());
        } catch (MalformedReportException e) {
            throw new AssertionError(e);
        }
    }

    private static byte[] filled(int v) {
        byte[] b = new byte[32];
        java.util.Arrays.fill(b, (byte) v);
        return b;
    }
}
