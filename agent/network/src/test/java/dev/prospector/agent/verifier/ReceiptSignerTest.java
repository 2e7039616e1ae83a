package dev.prospector.agent.verifier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.ReceiptBatch;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ReceiptSignerTest {
    private static final DeviceKeys KEY = DeviceKeys.generate();

    private record Sent(String topic, byte[] message) {}

    @Test
    void receiptsQueuedWhileABatchGoesOutShareTheNextSignatureInOrder() throws Exception {
        List<Sent> sent = java.util.Collections.synchronizedList(new ArrayList<>());
        var firstOut = new CountDownLatch(1);
        var release = new CountDownLatch(1);
        try (var signer = new ReceiptSigner(
                KEY,
                64,
                (topic, message) -> {
                    sent.add(new Sent(topic, message));
                    if (sent.size() == 1) {
                        firstOut.countDown();
                        await(release); // hold the signer while the rest queue up
                    }
                },
                "test-receipts")) {
            assertTrue(signer.submit("t/0", receipt(0)));
            assertTrue(firstOut.await(10, TimeUnit.SECONDS));
            for (int i = 1; i <= 40; i++) {
                assertTrue(signer.submit("t/" + i, receipt(i)));
            }
            release.countDown();
            signer.close(Duration.ofSeconds(10));
            assertEquals(41, sent.size(), "close lets every queued receipt go out");
            assertEquals(41, signer.receipts());
            assertEquals(2, signer.signatures(), "the lone first receipt, then one batch of the 40 queued behind it");
            for (int i = 0; i <= 40; i++) {
                assertEquals("t/" + i, sent.get(i).topic(), "receipts go out in the order they came");
                Receipt r = Receipt.verify(sent.get(i).message(), KEY.publicKey());
                assertEquals(i, r.seq().getAsLong());
            }
            assertEquals(1, ReceiptBatch.open(sent.get(0).message()).batchSize());
            assertEquals(40, ReceiptBatch.open(sent.get(40).message()).batchSize());
            assertFalse(signer.submit("t/late", receipt(99)), "a closed signer takes nothing");
        }
    }

    @Test
    void withABatchOfOneEveryReceiptIsSignedAlone() throws Exception {
        List<Sent> sent = java.util.Collections.synchronizedList(new ArrayList<>());
        try (var signer = new ReceiptSigner(KEY, 1, (t, m) -> sent.add(new Sent(t, m)), "test-receipts")) {
            for (int i = 0; i < 20; i++) {
                signer.submit("t/" + i, receipt(i));
            }
            signer.close(Duration.ofSeconds(10));
            assertEquals(20, sent.size());
            assertEquals(20, signer.signatures());
            for (int i = 0; i < 20; i++) {
                assertArrayEquals(receipt(i).sign(KEY), sent.get(i).message());
            }
        }
    }

    @Test
    void aBatchSizeOutOfRangeIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new ReceiptSigner(KEY, 0, (t, m) -> {}, "x"));
        assertThrows(
                IllegalArgumentException.class,
                () -> new ReceiptSigner(KEY, ReceiptBatch.MAX_LEAVES + 1, (t, m) -> {}, "x"));
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Receipt receipt(long seq) {
        return new Receipt(
                true,
                Optional.empty(),
                "accepted seq " + seq,
                Optional.of(KEY.deviceId()),
                OptionalLong.of(seq),
                false,
                0,
                false,
                new byte[32],
                Instant.ofEpochMilli(1_790_000_000_000L),
                Duration.ofMinutes(5));
    }
}
