package dev.prospector.agent.node;

import dev.prospector.attest.Measurement;
import dev.prospector.attest.MeasurementClaim;
import dev.prospector.attest.ReportInput;
import dev.prospector.attest.UnavailableMeasurement;
import dev.prospector.hardware.Reading;
import dev.prospector.hardware.Snapshot;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Turns what the board measured into what a report claims. Pure: the same snapshot, clock and
 * settings give the same input. On an emulated board every report says so (signed claim
 * {@code emulated}), so that verifiers refuse its evidence unless they are told to accept it.
 */
public final class ReportFactory {
    /** Claimed when the kernel's boot id could not be read (the claim must not be empty). */
    static final String NO_BOOT_ID = "unavailable";

    private final String fleet;
    private final Duration epochLength;
    private final String softwareVersion;
    private final byte[] configHash;
    private final Clock clock;
    private final boolean emulated;

    /** For a real board. */
    public ReportFactory(String fleet, Duration epochLength, String softwareVersion, byte[] configHash, Clock clock) {
        this(fleet, epochLength, softwareVersion, configHash, clock, false);
    }

    /** @param emulated the board is emulated: every report claims {@code emulated} */
    public ReportFactory(
            String fleet,
            Duration epochLength,
            String softwareVersion,
            byte[] configHash,
            Clock clock,
            boolean emulated) {
        if (epochLength.isNegative() || epochLength.isZero()) {
            throw new IllegalArgumentException("epoch length must be positive");
        }
        this.fleet = fleet;
        this.epochLength = epochLength;
        this.softwareVersion = softwareVersion;
        this.configHash = configHash.clone();
        this.clock = clock;
        this.emulated = emulated;
    }

    /** Whether the reports claim to come from an emulated board. */
    public boolean emulated() {
        return emulated;
    }

    /** What a report made of {@code snapshot} claims as {@code up}: the boot's monotonic clock. */
    public static Duration uptime(Snapshot snapshot) {
        return snapshot.value("uptime")
                .map(s -> Duration.ofMillis(Math.max(0, Math.round(s * 1000))))
                .orElse(Duration.ZERO);
    }

    public ReportInput input(Snapshot snapshot, Optional<byte[]> nonce) {
        return input(snapshot, nonce, 0);
    }

    /**
     * @param lost reports this device dropped unsent (outbox full), in total: declared in the
     *     report so that the verifier can tell a declared loss from a missing report
     */
    public ReportInput input(Snapshot snapshot, Optional<byte[]> nonce, long lost) {
        Instant iat = clock.instant().truncatedTo(ChronoUnit.MILLIS);
        long epoch = iat.toEpochMilli() / epochLength.toMillis();
        Duration uptime = uptime(snapshot);
        List<Measurement> measurements = new ArrayList<>(snapshot.readings().size());
        for (Reading r : snapshot.readings()) {
            if (r instanceof Reading.Value v) {
                measurements.add(new MeasurementClaim(v.name(), v.value(), v.unit(), v.source()));
            } else if (r instanceof Reading.Unavailable u) {
                measurements.add(new UnavailableMeasurement(u.name(), u.reason()));
            }
        }
        return new ReportInput(
                fleet,
                iat,
                epoch,
                nonce,
                snapshot.bootId().orElse(NO_BOOT_ID),
                uptime,
                measurements,
                softwareVersion,
                configHash,
                lost,
                emulated);
    }
}
