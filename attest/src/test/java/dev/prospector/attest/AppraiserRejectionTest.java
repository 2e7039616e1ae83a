package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Every rejection path of the appraisal, one behaviour per test. */
class AppraiserRejectionTest {
    private final ReportSigner signer = Fixtures.signer();
    private final DeviceKeys keys = signer.keys();

    private static Appraisal.Rejected rejected(Appraisal a, ReasonCode reason) {
        var r = assertInstanceOf(Appraisal.Rejected.class, a, a::toString);
        assertEquals(reason, r.reason(), r::toString);
        assertFalse(r.detail().isBlank());
        return r;
    }

    private static Appraisal.Accepted accepted(Appraisal a) {
        return assertInstanceOf(Appraisal.Accepted.class, a, a::toString);
    }

    private static ReportInput withNonce(byte[] nonce) {
        var i = Fixtures.input();
        return new ReportInput(
                i.fleet(),
                i.iat(),
                i.epoch(),
                Optional.of(nonce),
                i.bootId(),
                i.uptime(),
                i.measurements(),
                i.softwareVersion(),
                i.configHash());
    }

    @Test
    void aDeviceOutsideTheRegistryIsUnknown() {
        var appraiser = new Appraiser(AppraiserConfig.defaults()
                .withClock(Fixtures.CLOCK)
                .withRegistry(DeviceRegistry.of(List.of(DeviceKeys.generate().deviceId()))));
        var r = rejected(appraiser.appraise(signer.sign(Fixtures.input()).bytes()), ReasonCode.UNKNOWN_DEVICE);
        assertEquals(Optional.of(keys.deviceId()), r.device());
    }

    @Test
    void aDeviceInTheRegistryIsAccepted() {
        var appraiser = new Appraiser(AppraiserConfig.defaults()
                .withClock(Fixtures.CLOCK)
                .withRegistry(DeviceRegistry.of(List.of(keys.deviceId()))));
        accepted(appraiser.appraise(signer.sign(Fixtures.input()).bytes()));
    }

    @Test
    void aReportForAnotherFleetIsWrongFleet() {
        var appraiser = new Appraiser(
                AppraiserConfig.defaults().withClock(Fixtures.CLOCK).withFleet("beta"));
        rejected(appraiser.appraise(signer.sign(Fixtures.input()).bytes()), ReasonCode.WRONG_FLEET);
    }

    @Test
    void aReportOlderThanTheMaximumAgeIsStale() {
        var clock = new MutableClock(Fixtures.NOW);
        var appraiser =
                new Appraiser(AppraiserConfig.defaults().withClock(clock).withClockSkewWindow(Duration.ofMinutes(5)));
        byte[] report = signer.sign(Fixtures.input()).bytes();
        clock.advance(Limits.MAX_REPORT_AGE.plusMillis(1));
        var r = rejected(appraiser.appraise(report), ReasonCode.STALE);
        assertTrue(r.detail().contains("behind"), r.detail());
    }

    @Test
    void aBacklogReportAnHourOldIsAcceptedAfterAnOutage() {
        var clock = new MutableClock(Fixtures.NOW);
        var appraiser =
                new Appraiser(AppraiserConfig.defaults().withClock(clock).withClockSkewWindow(Duration.ofMinutes(5)));
        byte[] report = signer.sign(Fixtures.input()).bytes();
        clock.advance(Duration.ofHours(1)); // the broker was away for an hour; the outbox kept the report
        assertTrue(appraiser.appraise(report).accepted());
    }

    @Test
    void aReportFromTheFutureBeyondTheWindowIsStale() {
        var appraiser = new Appraiser(AppraiserConfig.defaults().withClock(Fixtures.CLOCK));
        var r = rejected(
                appraiser.appraise(signer.sign(Fixtures.input(Fixtures.NOW.plus(Duration.ofHours(1))))
                        .bytes()),
                ReasonCode.STALE);
        assertTrue(r.detail().contains("ahead of"), r.detail());
    }

    @Test
    void aReportAtTheEdgeOfTheWindowIsFresh() {
        var appraiser = new Appraiser(AppraiserConfig.defaults().withClock(Fixtures.CLOCK));
        accepted(appraiser.appraise(signer.sign(Fixtures.input(Fixtures.NOW.minus(Limits.CLOCK_SKEW_WINDOW)))
                .bytes()));
    }

    @Test
    void aNonceNotIssuedToTheDeviceIsBad() {
        var challenges = new ChallengeStore(Fixtures.CLOCK, Limits.CHALLENGE_TTL);
        byte[] someoneElses = challenges.issue(DeviceKeys.generate().deviceId());
        var appraiser = new Appraiser(
                AppraiserConfig.defaults().withClock(Fixtures.CLOCK).withChallenges(challenges, false));
        rejected(appraiser.appraise(signer.sign(withNonce(someoneElses)).bytes()), ReasonCode.BAD_NONCE);
    }

    @Test
    void anExpiredNonceIsBad() {
        var clock = new MutableClock(Fixtures.NOW);
        var challenges = new ChallengeStore(clock, Duration.ofMinutes(10));
        byte[] nonce = challenges.issue(keys.deviceId());
        clock.advance(Duration.ofMinutes(11));
        var appraiser =
                new Appraiser(AppraiserConfig.defaults().withClock(clock).withChallenges(challenges, false));
        var r = rejected(
                appraiser.appraise(signer.sign(new ReportInput(
                                "alpha",
                                clock.instant(),
                                1,
                                Optional.of(nonce),
                                "b",
                                Duration.ZERO,
                                List.of(),
                                "0.1.0",
                                Fixtures.CONFIG_HASH))
                        .bytes()),
                ReasonCode.BAD_NONCE);
        assertTrue(r.detail().contains("before the report was made"), r.detail());
    }

    @Test
    void aMissingNonceIsBadWhenTheVerifierRequiresOne() {
        var challenges = new ChallengeStore(Fixtures.CLOCK, Limits.CHALLENGE_TTL);
        var appraiser = new Appraiser(
                AppraiserConfig.defaults().withClock(Fixtures.CLOCK).withChallenges(challenges, true));
        rejected(appraiser.appraise(signer.sign(Fixtures.input()).bytes()), ReasonCode.BAD_NONCE);
    }

    @Test
    void aNonceIssuedToTheDeviceIsAccepted() {
        var challenges = new ChallengeStore(Fixtures.CLOCK, Limits.CHALLENGE_TTL);
        byte[] nonce = challenges.issue(keys.deviceId());
        var appraiser = new Appraiser(
                AppraiserConfig.defaults().withClock(Fixtures.CLOCK).withChallenges(challenges, true));
        accepted(appraiser.appraise(signer.sign(withNonce(nonce)).bytes()));
    }

    @Test
    void aTemperatureOf300DegreesIsImplausible() {
        var r = rejected(
                Fixtures.appraiser()
                        .appraise(signer.sign(Fixtures.input(List.of(new MeasurementClaim(
                                        "soc.temp", 300, "Cel", "/sys/class/thermal/thermal_zone0/temp"))))
                                .bytes()),
                ReasonCode.IMPLAUSIBLE);
        assertTrue(r.detail().contains("soc.temp"), r.detail());
    }

    @Test
    void freeSpaceAboveCapacityIsImplausible() {
        rejected(
                Fixtures.appraiser()
                        .appraise(signer.sign(Fixtures.input(List.of(
                                        new MeasurementClaim("storage.total", 32e9, "B", "statvfs"),
                                        new MeasurementClaim("storage.free", 33e9, "B", "statvfs"))))
                                .bytes()),
                ReasonCode.IMPLAUSIBLE);
    }

    @Test
    void aSpeedAboveTheLinkIsImplausible() {
        rejected(
                Fixtures.appraiser()
                        .appraise(signer.sign(Fixtures.input(List.of(
                                        new MeasurementClaim(
                                                "net.eth0.link_speed", 1e9, "bit/s", "/sys/class/net/eth0/speed"),
                                        new MeasurementClaim("net.eth0.rx_rate", 200e6, "B/s", "/proc/net/dev"))))
                                .bytes()),
                ReasonCode.IMPLAUSIBLE);
    }

    @Test
    void availableMemoryAboveTheTotalIsImplausible() {
        var r = rejected(
                Fixtures.appraiser()
                        .appraise(signer.sign(Fixtures.input(List.of(
                                        new MeasurementClaim("memory.total", 4e9, "B", "/proc/meminfo"),
                                        new MeasurementClaim("memory.available", 5e9, "B", "/proc/meminfo"))))
                                .bytes()),
                ReasonCode.IMPLAUSIBLE);
        assertTrue(r.detail().contains("memory.available"), r.detail());
    }

    @Test
    void aSignedOffsetInSecondsOrAReversedCurrentIsPlausible() {
        accepted(Fixtures.appraiser()
                .appraise(signer.sign(Fixtures.input(List.of(
                                new MeasurementClaim("clock.step", -3600, "s", "wall clock vs /proc/uptime"),
                                new MeasurementClaim("supply.current", -0.0004, "A", "ina219 i2c-1 0x40"),
                                new MeasurementClaim("supply.power", -0.002, "W", "ina219 i2c-1 0x40"))))
                        .bytes()));
    }

    @Test
    void aSpeedAboveAnyLinkIsImplausible() {
        rejected(
                Fixtures.appraiser()
                        .appraise(signer.sign(Fixtures.input(
                                        List.of(new MeasurementClaim("bandwidth.down", 50e9, "B/s", "receipt"))))
                                .bytes()),
                ReasonCode.IMPLAUSIBLE);
    }

    @Test
    void aNegativeCountABoolOtherThanZeroOrOneOrAPercentAboveHundredIsImplausible() {
        rejected(
                Fixtures.appraiser()
                        .appraise(signer.sign(Fixtures.input(List.of(new MeasurementClaim(
                                        "net.rx_errors", -1, "count", "/sys/class/net/eth0/statistics/rx_errors"))))
                                .bytes()),
                ReasonCode.IMPLAUSIBLE);
        rejected(
                Fixtures.appraiser()
                        .appraise(Fixtures.signer()
                                .sign(Fixtures.input(List.of(new MeasurementClaim(
                                        "net.link_up", 0.5, "bool", "/sys/class/net/eth0/operstate"))))
                                .bytes()),
                ReasonCode.IMPLAUSIBLE);
        rejected(
                Fixtures.appraiser()
                        .appraise(Fixtures.signer()
                                .sign(Fixtures.input(List.of(new MeasurementClaim("cpu.load", 101, "%", "/proc/stat"))))
                                .bytes()),
                ReasonCode.IMPLAUSIBLE);
    }

    @Test
    void theSameMeasurementTwiceIsImplausible() {
        rejected(
                Fixtures.appraiser()
                        .appraise(signer.sign(Fixtures.input(List.of(
                                        new MeasurementClaim("soc.temp", 40, "Cel", "a"),
                                        new UnavailableMeasurement("soc.temp", "gone"))))
                                .bytes()),
                ReasonCode.IMPLAUSIBLE);
    }

    @Test
    void aRepeatAmongManyMeasurementsIsFoundAndDistinctOnesPass() {
        var distinct = new java.util.ArrayList<Measurement>();
        for (int i = 0; i < 60; i++) {
            distinct.add(new MeasurementClaim("group" + (i % 7) + ".m" + i, i, "1", "test"));
        }
        accepted(Fixtures.appraiser()
                .appraise(signer.sign(Fixtures.input(distinct)).bytes()));
        for (int repeat : new int[] {0, 17, 58}) {
            var withRepeat = new java.util.ArrayList<Measurement>(distinct);
            withRepeat.add(new UnavailableMeasurement(((MeasurementClaim) distinct.get(repeat)).name(), "again"));
            var r = rejected(
                    Fixtures.appraiser()
                            .appraise(Fixtures.signer()
                                    .sign(Fixtures.input(withRepeat))
                                    .bytes()),
                    ReasonCode.IMPLAUSIBLE);
            assertTrue(r.detail().contains("appears twice"), r.detail());
        }
    }

    @Test
    void aCorrectlySignedButNonDeterministicPayloadIsMalformed() {
        byte[] payload = signer.sign(Fixtures.input()).claims().encode();
        // The claim "v": 1 (61 76 01) re-encoded with its 1 in two bytes (18 01): same value, not shortest.
        String hex = Hex.encode(payload);
        int at = hex.indexOf("617601"); // "v": 1
        assertTrue(at >= 0);
        byte[] bad = Hex.decode(hex.substring(0, at) + "61761801" + hex.substring(at + 6));
        byte[] report = CoseSign1.sign(keys.deviceId().kid(), bad, keys);
        var r = rejected(Fixtures.appraiser().appraise(report), ReasonCode.MALFORMED);
        assertTrue(r.detail().contains("shortest"), r.detail());
    }

    @Test
    void unsortedClaimsAreMalformedEvenWhenSigned() {
        // {"dev": "a", "v": 1}: "dev" (63 646576) must come after "v" (61 76), shorter keys first.
        byte[] unsorted = Hex.decode("a2" + "63646576" + "6161" + "617601");
        var r = rejected(
                Fixtures.appraiser().appraise(CoseSign1.sign(keys.deviceId().kid(), unsorted, keys)),
                ReasonCode.MALFORMED);
        assertTrue(r.detail().contains("order"), r.detail());
    }

    @Test
    void anUnknownVersionOrClaimIsMalformed() {
        byte[] payload = signer.sign(Fixtures.input()).claims().encode();
        String hex = Hex.encode(payload);
        byte[] v2 = Hex.decode(hex.replace("617601", "617602"));
        rejected(Fixtures.appraiser().appraise(CoseSign1.sign(keys.deviceId().kid(), v2, keys)), ReasonCode.MALFORMED);
        // One more claim, "zzzzzzzzz": 0, longer than every key so it sorts last; the map head grows by one.
        int size = payload[0] & 0x1f;
        byte[] extra = Hex.decode(
                Hex.encode(new byte[] {(byte) (0xa0 | (size + 1))}) + hex.substring(2) + "697a7a7a7a7a7a7a7a7a00");
        var r = rejected(
                Fixtures.appraiser().appraise(CoseSign1.sign(keys.deviceId().kid(), extra, keys)),
                ReasonCode.MALFORMED);
        assertTrue(r.detail().contains("unknown claim"), r.detail());
    }

    @Test
    void aKidThatIsNotTheDeviceIsMalformed() {
        byte[] payload = signer.sign(Fixtures.input()).claims().encode();
        byte[] report = CoseSign1.sign(DeviceKeys.generate().deviceId().kid(), payload, keys);
        rejected(Fixtures.appraiser().appraise(report), ReasonCode.MALFORMED);
    }

    @Test
    void aDeviceIdThatIsNotTheHashOfTheKeyIsMalformed() throws Exception {
        var c = signer.sign(Fixtures.input()).claims();
        var other = DeviceKeys.generate();
        // Replace key with another key and sign with it: dev no longer matches.
        String hex = Hex.encode(c.encode()).replace(Hex.encode(c.key()), Hex.encode(other.publicKey()));
        rejected(
                Fixtures.appraiser().appraise(CoseSign1.sign(c.device().kid(), Hex.decode(hex), other)),
                ReasonCode.MALFORMED);
    }

    @Test
    void theConfigurationNamesTheBadSetting() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> AppraiserConfig.defaults().withClockSkewWindow(Duration.ZERO));
        assertTrue(e.getMessage().contains("clock-skew window"), e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class,
                () -> new AppraiserConfig(
                        Limits.CLOCK_SKEW_WINDOW,
                        Optional.empty(),
                        Optional.empty(),
                        Optional.empty(),
                        true,
                        PlausibilityLimits.DEFAULTS,
                        Fixtures.CLOCK,
                        Optional.empty(),
                        false,
                        AppraiserConfig.DEFAULT_MAX_DEVICES,
                        0));
        assertTrue(e.getMessage().contains("requireNonce"), e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> AppraiserConfig.defaults().withNewDevicesPerMinute(-1));
        assertTrue(e.getMessage().contains("new devices per minute"), e.getMessage());
    }
}
