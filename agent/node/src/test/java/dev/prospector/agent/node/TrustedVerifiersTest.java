package dev.prospector.agent.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.attest.Cbor;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.ReceiptBatch;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** A board takes a verifier's receipts signed alone or in a batch, from a key it trusts only. */
class TrustedVerifiersTest {
    private static final DeviceKeys VERIFIER = DeviceKeys.generate();
    private static final DeviceKeys BOARD = DeviceKeys.generate();
    private final TrustedVerifiers trusted = TrustedVerifiers.of(List.of(VERIFIER.publicKey()));

    @Test
    void batchedReceiptsOfATrustedVerifierAreTaken() {
        List<Receipt> receipts = receipts(12);
        List<byte[]> messages = ReceiptBatch.sign(receipts, VERIFIER);
        for (int i = 0; i < receipts.size(); i++) {
            assertEquals(Optional.of(receipts.get(i)), trusted.verify(messages.get(i)));
        }
        assertEquals(
                Optional.of(receipts.get(0)), trusted.verify(receipts.get(0).sign(VERIFIER)));
    }

    @Test
    void batchedReceiptsOfAnotherKeyOrTamperedAreIgnored() throws Exception {
        List<Receipt> receipts = receipts(12);
        assertEquals(
                Optional.empty(),
                trusted.verify(
                        ReceiptBatch.sign(receipts, DeviceKeys.generate()).get(3)));
        byte[] genuine = ReceiptBatch.sign(receipts, VERIFIER).get(3);
        var m = (Cbor.MapValue) Cbor.decode(genuine);
        var b = Cbor.map();
        for (Cbor.Entry e : m.entries()) {
            String k = ((Cbor.Text) e.key()).value();
            b.put(k, k.equals("receipt") ? new Cbor.Bytes(receipts.get(4).encode()) : e.value());
        }
        assertEquals(Optional.empty(), trusted.verify(Cbor.encode(b.build())), "another receipt under leaf 3's path");
        assertTrue(trusted.verify(new byte[] {(byte) 0xa0}).isEmpty());
    }

    private static List<Receipt> receipts(int n) {
        List<Receipt> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new Receipt(
                    true,
                    Optional.empty(),
                    "accepted seq " + (i + 1),
                    Optional.of(BOARD.deviceId()),
                    OptionalLong.of(i + 1),
                    false,
                    0,
                    false,
                    new byte[32],
                    Instant.ofEpochMilli(1_790_000_000_000L + i),
                    Duration.ofMinutes(5)));
        }
        return out;
    }
}
