package dev.prospector.agent.node;

import dev.prospector.attest.DeviceKeys;
import dev.prospector.ledger.Address;
import dev.prospector.ledger.Attestation;
import dev.prospector.ledger.AttestationSigner;
import dev.prospector.ledger.LedgerNode;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.tinylog.Logger;

/**
 * The board's ledger shard on the MQTT side: blocks of the shard arrive on
 * {@code prospector/v1/<fleet>/ledger/<shard>/block}; each is validated by the {@link LedgerNode}
 * (which knows no MQTT) on one thread of its own, in arrival order, and the signed attestation is
 * published on {@code …/ledger/<shard>/attest/<device>}. A block is acknowledged to the broker only
 * after its attestation is published, so a crash mid-block means the broker sends it again (and
 * the node, which persisted it if it was valid, attests it again).
 *
 * <h2>Bounds</h2>
 * A board's heap is small (40 MB on a Pi Zero 2 W) and anyone on the broker can publish on the
 * block topic. A block larger than {@link #MAX_BLOCK_BYTES} is never decoded (the MQTT connection's
 * maximum packet size already keeps larger ones away at the broker), and at most
 * {@link #MAX_QUEUED_BLOCKS} wait for validation; anything beyond is acknowledged and dropped,
 * counted, and logged once per minute at most, so that a flood can neither exhaust the heap nor
 * wedge the board's persistent session. A dropped genuine block shows as a gap at the next block
 * (wrong height), which the network's re-publication repairs.
 */
public final class LedgerService implements AutoCloseable {
    /**
     * Largest block the board decodes: about 12,700 transactions (157 bytes each). A block of
     * 12,000 transactions over 20,000 accounts validates within the board's 40 MB heap
     * ({@code ledger validate} with the launcher's board options).
     */
    public static final int MAX_BLOCK_BYTES = 2_000_000;
    /** Blocks waiting for validation, at most (with the one being validated: three blocks' bytes on the heap). */
    static final int MAX_QUEUED_BLOCKS = 2;

    private final LedgerNode node;
    private final java.util.concurrent.Semaphore queue = new java.util.concurrent.Semaphore(MAX_QUEUED_BLOCKS);
    private final java.util.concurrent.atomic.AtomicLong dropped = new java.util.concurrent.atomic.AtomicLong();
    private volatile long lastDropLogMillis;
    private final String blockTopic;
    private final String attestTopic;
    private final ExecutorService worker;

    public LedgerService(LedgerNode node, String fleet, String device) {
        this.node = node;
        int shard = node.params().shard();
        this.blockTopic = Attestation.blockTopic(fleet, shard);
        this.attestTopic = Attestation.topic(fleet, shard, device);
        this.worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "ledger-shard-" + shard);
            t.setDaemon(true);
            return t;
        });
    }

    /** The board's device key signs its attestations. */
    public static AttestationSigner signer(DeviceKeys keys) {
        Address device = Address.of(keys.publicKey());
        return new AttestationSigner() {
            @Override
            public Address device() {
                return device;
            }

            @Override
            public byte[] sign(byte[] message) {
                return keys.sign(message);
            }
        };
    }

    public String blockTopic() {
        return blockTopic;
    }

    /**
     * Validates a block off the MQTT thread; {@code publish} gets (topic, attestation bytes) and
     * {@code ack} runs once it is handed over.
     */
    public void onBlock(byte[] block, BiConsumer<String, byte[]> publish, Runnable ack) {
        if (block.length > MAX_BLOCK_BYTES) {
            drop(ack, "a block of " + block.length + " bytes (the bound is " + MAX_BLOCK_BYTES + ")");
            return;
        }
        if (!queue.tryAcquire()) {
            drop(ack, "a block while " + MAX_QUEUED_BLOCKS + " wait for validation");
            return;
        }
        try {
            worker.execute(() -> {
                try {
                    Attestation a = node.onBlock(block);
                    publish.accept(attestTopic, a.encode());
                    Logger.info(
                            "ledger shard {} block {}: {}",
                            a.shard(),
                            a.height(),
                            a.valid()
                                    ? "valid"
                                    : "invalid ("
                                            + a.reason().map(Object::toString).orElse("") + ": " + a.detail() + ")");
                    ack.run();
                } catch (RuntimeException e) {
                    Logger.error("ledger block could not be validated: {}", e.toString());
                    Logger.debug(e);
                } finally {
                    queue.release();
                }
            });
        } catch (RejectedExecutionException e) {
            queue.release();
            Logger.debug("ledger service closed; block left for the broker to send again");
        }
    }

    /** Blocks acknowledged and dropped unread (too large, or too many waiting). */
    public long dropped() {
        return dropped.get();
    }

    private void drop(Runnable ack, String what) {
        long n = dropped.incrementAndGet();
        ack.run();
        long now = System.currentTimeMillis();
        if (now - lastDropLogMillis > 60_000) {
            lastDropLogMillis = now;
            Logger.warn("ledger: dropped {} on {}; {} block(s) dropped so far", what, blockTopic, n);
        }
    }

    @Override
    public void close() {
        worker.shutdown();
        try {
            if (!worker.awaitTermination(10, TimeUnit.SECONDS)) {
                worker.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            node.close();
        } catch (java.io.IOException e) {
            Logger.warn("closing the ledger: {}", e.getMessage());
        }
    }
}
