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
 */
public final class LedgerService implements AutoCloseable {
    private final LedgerNode node;
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
        try {
            worker.execute(() -> {
                try {
                    Attestation a = node.onBlock(block);
                    publish.accept(attestTopic, a.encode());
                    Logger.info("ledger shard {} block {}: {}", a.shard(), a.height(),
                            a.valid() ? "valid" : "invalid (" + a.reason().map(Object::toString).orElse("") + ": " + a.detail() + ")");
                    ack.run();
                } catch (RuntimeException e) {
                    Logger.error("ledger block could not be validated: {}", e.toString());
                    Logger.debug(e);
                }
            });
        } catch (RejectedExecutionException e) {
            Logger.debug("ledger service closed; block left for the broker to send again");
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
