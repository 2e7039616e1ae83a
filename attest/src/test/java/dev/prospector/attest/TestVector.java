package dev.prospector.attest;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** The committed test vector of docs/EVIDENCE.md: fixed key, fixed claims, so fixed bytes. */
final class TestVector {
    /** RFC 8032 section 7.1, TEST 1 secret key. */
    static final String SEED_HEX = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

    private TestVector() {}

    static DeviceKeys keys() {
        return DeviceKeys.fromSeed(Hex.decode(SEED_HEX));
    }

    static Claims claims() {
        var keys = keys();
        return new Claims(
                keys.deviceId(),
                keys.publicKey(),
                "alpha",
                7,
                Optional.of(Hex.decode("5c1e6f3d2a9b8c7d6e5f40312213041526374859a0b1c2d3e4f5061728394a5b")),
                Hex.decode("00112233445566778899aabbccddeeff"),
                Instant.parse("2026-11-26T09:00:00.250Z"),
                42,
                Optional.of(Hex.decode("a1b2c3d4e5f60718293a4b5c6d7e8f90")),
                "6f1c2a3e-7d55-4b1f-9a4e-0e7b4c1d2f10",
                Duration.ofMillis(3_600_250),
                List.of(
                        new MeasurementClaim("soc.temp", 48.5, "Cel", "/sys/class/thermal/thermal_zone0/temp"),
                        new MeasurementClaim("storage.total", 31_914_983_424.0, "B", "statvfs:/var/lib/prospector"),
                        new MeasurementClaim("cpu.load", 0.37, "1", "/proc/loadavg"),
                        new UnavailableMeasurement("net.wlan0.rx", "no such interface")),
                "0.1.0",
                Hex.decode("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
                Optional.empty(),
                List.of());
    }

    static byte[] report() {
        var keys = keys();
        return CoseSign1.sign(keys.deviceId().kid(), claims().encode(), keys);
    }
}
