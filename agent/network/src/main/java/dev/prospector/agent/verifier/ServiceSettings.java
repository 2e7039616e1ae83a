package dev.prospector.agent.verifier;

import dev.prospector.agent.common.Failure;
import dev.prospector.attest.Audit;
import dev.prospector.attest.DeviceId;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * How the verifier judges proofs of service (docs/REWARDS.md). Validated on construction; each
 * message names the option of {@code prospector verifier}.
 *
 * @param auditEvery how often a device with a committed plot is audited (at a random moment of each period)
 * @param auditLeaves leaves named by an audit
 * @param auditDeadline how long after its receipt an audit must be answered (verifier clock)
 * @param bandwidthEvery how often a bandwidth test is asked
 * @param epoch length of a scoring epoch (verifier clock)
 * @param uptimeMaxGap longest gap between two reports that still counts as up
 * @param storageTarget plot bytes that earn the full storage share
 * @param rewardPerEpoch reward units of a perfect score in one epoch
 * @param trustedEndpoints public keys (raw 32 bytes) of the measurement endpoints whose receipts count
 * @param measurePort port of an endpoint run in the verifier's process (0: none); it is trusted
 * @param measureBind address that endpoint listens on
 * @param measureMaxBytes largest transfer that endpoint serves
 * @param epochOrigin where epoch 0 starts on the verifier's clock; epoch n covers
 *     {@code [origin + n * epoch, origin + (n + 1) * epoch)}. The Unix epoch for {@code prospector verifier}
 *     (epoch numbers in {@code pos.state} and {@code rewards.log} count from it, so it never changes
 *     there); the demo starts its one epoch when it starts, so that the epoch's uptime is the run's
 */
public record ServiceSettings(
        Duration auditEvery,
        int auditLeaves,
        Duration auditDeadline,
        Duration bandwidthEvery,
        Duration epoch,
        Duration uptimeMaxGap,
        long storageTarget,
        long rewardPerEpoch,
        List<byte[]> trustedEndpoints,
        int measurePort,
        String measureBind,
        long measureMaxBytes,
        Instant epochOrigin) {
    public ServiceSettings {
        Objects.requireNonNull(epochOrigin, "epochOrigin");
        positive("--audit-every", auditEvery);
        positive("--audit-deadline", auditDeadline);
        positive("--bandwidth-every", bandwidthEvery);
        positive("--epoch", epoch);
        positive("--uptime-max-gap", uptimeMaxGap);
        if (epoch.compareTo(Duration.ofMinutes(1)) < 0) {
            throw new Failure("--epoch " + epoch.toSeconds() + "s is too short: use 1m or more");
        }
        if (auditLeaves < 1 || auditLeaves > Audit.MAX_LEAVES) {
            throw new Failure("--audit-leaves " + auditLeaves + " is out of range: use 1 to " + Audit.MAX_LEAVES);
        }
        if (storageTarget < 1) {
            throw new Failure("--storage-target " + storageTarget + " is out of range: use 1 byte or more");
        }
        if (rewardPerEpoch < 0 || rewardPerEpoch > (1L << 52)) {
            throw new Failure("--reward-per-epoch " + rewardPerEpoch + " is out of range: use 0 to 2^52");
        }
        if (measurePort < 0 || measurePort > 65535) {
            throw new Failure("--measure-port " + measurePort + " is out of range: use 0 (none) to 65535");
        }
        if (measureMaxBytes < 1) {
            throw new Failure("--measure-max-bytes must be positive");
        }
        trustedEndpoints = trustedEndpoints.stream().map(byte[]::clone).toList();
        for (byte[] k : trustedEndpoints) {
            if (k.length != 32) {
                throw new Failure("a trusted measurement endpoint key has 32 bytes, not " + k.length);
            }
        }
    }

    /** Settings whose epochs count from the Unix epoch, as {@code prospector verifier}'s do. */
    public ServiceSettings(
            Duration auditEvery,
            int auditLeaves,
            Duration auditDeadline,
            Duration bandwidthEvery,
            Duration epoch,
            Duration uptimeMaxGap,
            long storageTarget,
            long rewardPerEpoch,
            List<byte[]> trustedEndpoints,
            int measurePort,
            String measureBind,
            long measureMaxBytes) {
        this(
                auditEvery,
                auditLeaves,
                auditDeadline,
                bandwidthEvery,
                epoch,
                uptimeMaxGap,
                storageTarget,
                rewardPerEpoch,
                trustedEndpoints,
                measurePort,
                measureBind,
                measureMaxBytes,
                Instant.EPOCH);
    }

    private static void positive(String option, Duration d) {
        if (d.isNegative() || d.isZero()) {
            throw new Failure(option + " must be longer than 0s");
        }
    }

    /** The defaults of {@code prospector verifier}: no endpoint of its own and none trusted. */
    public static ServiceSettings defaults() {
        return new ServiceSettings(
                Duration.ofHours(1),
                Audit.DEFAULT_LEAVES,
                Duration.ofSeconds(2),
                Duration.ofHours(6),
                Duration.ofHours(1),
                Duration.ofMinutes(3),
                1L << 30,
                1000,
                List.of(),
                0,
                "127.0.0.1",
                64L << 20);
    }

    /** These settings auditing {@code leaves} leaves every {@code every}, each answered within {@code deadline}. */
    public ServiceSettings withAudits(Duration every, int leaves, Duration deadline) {
        return new ServiceSettings(
                every,
                leaves,
                deadline,
                bandwidthEvery,
                epoch,
                uptimeMaxGap,
                storageTarget,
                rewardPerEpoch,
                trustedEndpoints,
                measurePort,
                measureBind,
                measureMaxBytes,
                epochOrigin);
    }

    /** These settings asking a bandwidth test every {@code every}. */
    public ServiceSettings withBandwidthEvery(Duration every) {
        return new ServiceSettings(
                auditEvery,
                auditLeaves,
                auditDeadline,
                every,
                epoch,
                uptimeMaxGap,
                storageTarget,
                rewardPerEpoch,
                trustedEndpoints,
                measurePort,
                measureBind,
                measureMaxBytes,
                epochOrigin);
    }

    public ServiceSettings withTrustedEndpoints(List<byte[]> keys) {
        return new ServiceSettings(
                auditEvery,
                auditLeaves,
                auditDeadline,
                bandwidthEvery,
                epoch,
                uptimeMaxGap,
                storageTarget,
                rewardPerEpoch,
                keys,
                measurePort,
                measureBind,
                measureMaxBytes,
                epochOrigin);
    }

    public ServiceSettings withMeasurePort(int port, String bind) {
        return new ServiceSettings(
                auditEvery,
                auditLeaves,
                auditDeadline,
                bandwidthEvery,
                epoch,
                uptimeMaxGap,
                storageTarget,
                rewardPerEpoch,
                trustedEndpoints,
                port,
                bind,
                measureMaxBytes,
                epochOrigin);
    }

    public ServiceSettings withEpoch(Duration length) {
        return new ServiceSettings(
                auditEvery,
                auditLeaves,
                auditDeadline,
                bandwidthEvery,
                length,
                uptimeMaxGap,
                storageTarget,
                rewardPerEpoch,
                trustedEndpoints,
                measurePort,
                measureBind,
                measureMaxBytes,
                epochOrigin);
    }

    public ServiceSettings withStorageTarget(long bytes) {
        return new ServiceSettings(
                auditEvery,
                auditLeaves,
                auditDeadline,
                bandwidthEvery,
                epoch,
                uptimeMaxGap,
                bytes,
                rewardPerEpoch,
                trustedEndpoints,
                measurePort,
                measureBind,
                measureMaxBytes,
                epochOrigin);
    }

    /** These settings with epoch 0 starting at {@code origin} (see {@link #epochOrigin}). */
    public ServiceSettings withEpochOrigin(Instant origin) {
        return new ServiceSettings(
                auditEvery,
                auditLeaves,
                auditDeadline,
                bandwidthEvery,
                epoch,
                uptimeMaxGap,
                storageTarget,
                rewardPerEpoch,
                trustedEndpoints,
                measurePort,
                measureBind,
                measureMaxBytes,
                origin);
    }

    /** The ids of the trusted endpoint keys. */
    List<DeviceId> trustedIds() {
        return trustedEndpoints.stream().map(DeviceId::of).toList();
    }
}
