package dev.prospector.agent.pos;

import dev.prospector.attest.DeviceId;
import java.util.List;

/**
 * The board's side of a bandwidth test: moves bytes to and from measurement endpoints and returns
 * what they signed ({@link dev.prospector.attest.BandwidthReceipt}s). {@link HttpBandwidthProbe} is
 * the real one; an interface so that tests can give a node a probe that cheats (forged or replayed
 * receipts). Runs on a worker thread of the node, never on the report or delivery thread.
 */
@FunctionalInterface
public interface BandwidthProbe {
    /**
     * Runs the test of challenge {@code nonce} for {@code device}: the signed receipts that came
     * back (at most {@link dev.prospector.attest.ServiceEvidence#MAX_BANDWIDTH_RECEIPTS}); an
     * endpoint that fails is logged and left out, never thrown.
     */
    List<byte[]> measure(DeviceId device, byte[] nonce) throws InterruptedException;

    /** No measurement endpoint: a bandwidth test gives no receipt. */
    static BandwidthProbe none() {
        return (device, nonce) -> List.of();
    }
}
