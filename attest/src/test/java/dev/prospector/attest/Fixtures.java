package dev.prospector.attest;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;

/** Realistic inputs shared by the tests. */
final class Fixtures {
    static final Instant NOW = Instant.parse("2026-11-26T09:00:00Z");
    static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    static final byte[] CONFIG_HASH = Sha256.of("interval=2s\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));

    private Fixtures() {}

    static List<Measurement> measurements() {
        return List.of(
                new MeasurementClaim("storage.total", 31_914_983_424.0, "B", "statvfs:/var/lib/prospector"),
                new MeasurementClaim("storage.free", 20_000_000_000.0, "B", "statvfs:/var/lib/prospector"),
                new MeasurementClaim("net.eth0.rx", 123_456_789.0, "B", "/sys/class/net/eth0/statistics/rx_bytes"),
                new MeasurementClaim("soc.temp", 48.5, "Cel", "/sys/class/thermal/thermal_zone0/temp"),
                new UnavailableMeasurement("net.wlan0.rx", "no such interface"));
    }

    static ReportInput input(Instant iat) {
        return new ReportInput(
                "alpha",
                iat,
                42,
                Optional.empty(),
                "6f1c2a3e-7d55-4b1f-9a4e-0e7b4c1d2f10",
                Duration.ofMillis(3_600_250),
                measurements(),
                "0.1.0",
                CONFIG_HASH);
    }

    static ReportInput input() {
        return input(NOW);
    }

    static ReportInput input(List<Measurement> measurements) {
        return new ReportInput(
                "alpha",
                NOW,
                42,
                Optional.empty(),
                "6f1c2a3e-7d55-4b1f-9a4e-0e7b4c1d2f10",
                Duration.ofMillis(3_600_250),
                measurements,
                "0.1.0",
                CONFIG_HASH);
    }

    static ReportSigner signer() {
        return new ReportSigner(DeviceKeys.generate(), ChainState.inMemory());
    }

    static Appraiser appraiser() {
        return new Appraiser(AppraiserConfig.defaults().withClock(CLOCK));
    }
}
