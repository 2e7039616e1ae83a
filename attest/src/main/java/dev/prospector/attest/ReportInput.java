package dev.prospector.attest;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What the agent supplies for one report; {@link ReportSigner} adds device, key, seq, prev, chain
 * and restart.
 *
 * @param fleet           the fleet name the device reports to
 * @param iat             when the report is made (encoded in milliseconds)
 * @param epoch           the reward epoch the report counts for
 * @param nonce           the last challenge nonce the device answered, if any
 * @param bootId          the kernel's boot id ({@code /proc/sys/kernel/random/boot_id})
 * @param uptime          time since boot (encoded in milliseconds)
 * @param measurements    the measurements, in the agent's order
 * @param softwareVersion the agent's version
 * @param configHash      SHA-256 of the effective configuration (32 bytes)
 * @param lost            reports dropped unsent because the outbox was full, in total (claim {@code lost})
 * @param emulated        the measurements come from an emulated board (claim {@code emulated}, which
 *                        verifiers refuse unless told to accept emulated evidence)
 * @param service         proof-of-service evidence (claim {@code pos}), if any
 */
public record ReportInput(
        String fleet,
        Instant iat,
        long epoch,
        Optional<byte[]> nonce,
        String bootId,
        Duration uptime,
        List<Measurement> measurements,
        String softwareVersion,
        byte[] configHash,
        long lost,
        boolean emulated,
        Optional<ServiceEvidence> service) {
    public ReportInput {
        measurements = List.copyOf(measurements);
        nonce = nonce.map(byte[]::clone);
        configHash = configHash.clone();
        if (lost < 0) {
            throw new IllegalArgumentException("lost must not be negative");
        }
    }

    /** An input without proof-of-service evidence. */
    public ReportInput(
            String fleet,
            Instant iat,
            long epoch,
            Optional<byte[]> nonce,
            String bootId,
            Duration uptime,
            List<Measurement> measurements,
            String softwareVersion,
            byte[] configHash,
            long lost,
            boolean emulated) {
        this(
                fleet,
                iat,
                epoch,
                nonce,
                bootId,
                uptime,
                measurements,
                softwareVersion,
                configHash,
                lost,
                emulated,
                Optional.empty());
    }

    /** This input with {@code evidence} (claim {@code pos}). */
    public ReportInput withService(Optional<ServiceEvidence> evidence) {
        return new ReportInput(
                fleet,
                iat,
                epoch,
                nonce,
                bootId,
                uptime,
                measurements,
                softwareVersion,
                configHash,
                lost,
                emulated,
                evidence);
    }

    /** The input of a real (not emulated) board. */
    public ReportInput(
            String fleet,
            Instant iat,
            long epoch,
            Optional<byte[]> nonce,
            String bootId,
            Duration uptime,
            List<Measurement> measurements,
            String softwareVersion,
            byte[] configHash,
            long lost) {
        this(fleet, iat, epoch, nonce, bootId, uptime, measurements, softwareVersion, configHash, lost, false);
    }

    /** This input, made on an emulated board or not. */
    public ReportInput withEmulated(boolean onEmulatedBoard) {
        return new ReportInput(
                fleet,
                iat,
                epoch,
                nonce,
                bootId,
                uptime,
                measurements,
                softwareVersion,
                configHash,
                lost,
                onEmulatedBoard,
                service);
    }

    /** The input of a real board that has lost no report. */
    public ReportInput(
            String fleet,
            Instant iat,
            long epoch,
            Optional<byte[]> nonce,
            String bootId,
            Duration uptime,
            List<Measurement> measurements,
            String softwareVersion,
            byte[] configHash) {
        this(fleet, iat, epoch, nonce, bootId, uptime, measurements, softwareVersion, configHash, 0, false);
    }
}
