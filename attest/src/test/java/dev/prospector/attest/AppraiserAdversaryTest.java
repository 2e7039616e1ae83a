package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What someone who can publish on the fleet's broker tries against the appraisal: a genuine report
 * shown under another device's topic, emulated evidence, and a flood of self-signed new devices.
 */
class AppraiserAdversaryTest {
    @TempDir
    Path dir;

    private static Appraisal.Rejected rejected(Appraisal a, ReasonCode reason) {
        var r = assertInstanceOf(Appraisal.Rejected.class, a, a::toString);
        assertEquals(reason, r.reason(), r::toString);
        assertFalse(r.detail().isBlank());
        return r;
    }

    private static Appraisal.Accepted accepted(Appraisal a) {
        return assertInstanceOf(Appraisal.Accepted.class, a, a::toString);
    }

    @Test
    void aGenuineReportShownFirstUnderAnotherDevicesTopicChangesNothingAndIsAcceptedOnItsOwn() {
        var pins = KeyPinStore.open(dir.resolve("key-pins"));
        var appraiser = new Appraiser(
                AppraiserConfig.defaults().withClock(Fixtures.CLOCK).withKeyPins(pins));
        var signer = Fixtures.signer();
        DeviceId genuine = signer.keys().deviceId();
        DeviceId victim = DeviceKeys.generate().deviceId();
        byte[] report = signer.sign(Fixtures.input()).bytes();

        rejected(appraiser.appraise(report, victim), ReasonCode.WRONG_TOPIC);
        assertFalse(appraiser.tracks(genuine), "no chain state for the report's device");
        assertFalse(appraiser.tracks(victim), "nor for the topic's device");
        assertTrue(pins.get(genuine).isEmpty(), "no key pinned");

        var first = accepted(appraiser.appraise(report, genuine));
        assertFalse(first.duplicate(), "the genuine copy is a new acceptance, not a never-counted duplicate");
        assertTrue(accepted(appraiser.appraise(report, genuine)).duplicate(), "and only that one counts");
        assertEquals(1, appraiser.stats().accepted());
    }

    @Test
    void aReportWithoutATopicIsAppraisedForWhicheverDeviceSignedIt() {
        var signer = Fixtures.signer();
        accepted(Fixtures.appraiser().appraise(signer.sign(Fixtures.input()).bytes()));
    }

    @Test
    void anEmulatedBoardsReportIsRefusedUnlessTheVerifierAllowsEmulatedEvidence() {
        byte[] report =
                Fixtures.signer().sign(Fixtures.input().withEmulated(true)).bytes();
        var strict = new Appraiser(AppraiserConfig.defaults().withClock(Fixtures.CLOCK));
        var r = rejected(strict.appraise(report), ReasonCode.EMULATED);
        assertTrue(r.detail().contains("--allow-emulated"), r.detail());
        assertEquals(0, strict.trackedDevices());

        var demo = new Appraiser(
                AppraiserConfig.defaults().withClock(Fixtures.CLOCK).withAllowEmulated(true));
        assertTrue(accepted(demo.appraise(report)).claims().emulated());
    }

    @Test
    void theEmulatedClaimIsSignedAndEncodedOnlyWhenTrue() throws Exception {
        var signer = Fixtures.signer();
        SignedReport real = signer.sign(Fixtures.input());
        SignedReport emulated = signer.sign(Fixtures.input().withEmulated(true));
        assertFalse(Report.decode(real.bytes()).claims().emulated());
        assertFalse(
                new String(real.claims().encode(), java.nio.charset.StandardCharsets.ISO_8859_1).contains("emulated"));
        Report decoded = Report.decode(emulated.bytes());
        assertTrue(decoded.claims().emulated());
        assertTrue(decoded.verifySignature(), "the claim is covered by the device's signature");
    }

    @Test
    void anExplicitFalseEmulatedClaimIsNotTheDeterministicFormAndIsMalformed() throws Exception {
        Claims c = Fixtures.signer().sign(Fixtures.input()).claims();
        var builder = Cbor.map();
        ((Cbor.MapValue) Cbor.decode(c.encode()))
                .entries()
                .forEach(e -> builder.put(((Cbor.Text) e.key()).value(), e.value()));
        builder.put(Claims.EMULATED, new Cbor.Bool(false));
        byte[] payload = Cbor.encode(builder.build());
        var e = assertThrows(MalformedReportException.class, () -> Claims.decode(payload));
        assertTrue(e.getMessage().contains("emulated"), e.getMessage());

        var notBool = Cbor.map();
        ((Cbor.MapValue) Cbor.decode(c.encode()))
                .entries()
                .forEach(x -> notBool.put(((Cbor.Text) x.key()).value(), x.value()));
        notBool.put(Claims.EMULATED, new Cbor.Int(1));
        assertThrows(MalformedReportException.class, () -> Claims.decode(Cbor.encode(notBool.build())));
    }

    @Test
    void newDevicesBeyondTheCapPerMinuteAreRateLimitedUnpinnedAndAdmittedOnceTheMinutePasses() {
        var clock = new MutableClock(Fixtures.NOW);
        var pins = KeyPinStore.open(dir.resolve("key-pins"));
        var appraiser = new Appraiser(
                AppraiserConfig.defaults().withClock(clock).withKeyPins(pins).withNewDevicesPerMinute(3));
        List<ReportSigner> devices = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            devices.add(Fixtures.signer());
        }
        List<byte[]> firsts = devices.stream()
                .map(s -> s.sign(Fixtures.input(clock.instant())).bytes())
                .toList();
        for (int i = 0; i < 3; i++) {
            accepted(appraiser.appraise(firsts.get(i)));
        }
        DeviceId fourth = devices.get(3).keys().deviceId();
        var r = rejected(appraiser.appraise(firsts.get(3)), ReasonCode.RATE_LIMITED);
        assertTrue(r.detail().contains("--new-devices-per-minute"), r.detail());
        assertFalse(appraiser.tracks(fourth), "a refused new device leaves no chain state");
        assertTrue(pins.get(fourth).isEmpty(), "and no pinned key");

        // Known devices are never slowed by the cap.
        accepted(appraiser.appraise(
                devices.get(0).sign(Fixtures.input(clock.instant())).bytes()));

        // A third of a minute later one more device may join: the board's retry of the same report.
        clock.advance(Duration.ofSeconds(20));
        accepted(appraiser.appraise(firsts.get(3)));
        rejected(appraiser.appraise(firsts.get(4)), ReasonCode.RATE_LIMITED);
        clock.advance(Duration.ofSeconds(20));
        accepted(appraiser.appraise(firsts.get(4)));
        System.out.println("new-device cap 3/min: tried 5 new devices at once, accepted 3, refused 2 as rate-limited,"
                + " both accepted on retry 20 s and 40 s later");
    }

    @Test
    void theNewDeviceCapDoesNotApplyWithARegistry() {
        List<ReportSigner> devices = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            devices.add(Fixtures.signer());
        }
        var registry =
                DeviceRegistry.of(devices.stream().map(s -> s.keys().deviceId()).toList());
        var appraiser = new Appraiser(AppraiserConfig.defaults()
                .withClock(Fixtures.CLOCK)
                .withRegistry(registry)
                .withNewDevicesPerMinute(1));
        devices.forEach(
                s -> accepted(appraiser.appraise(s.sign(Fixtures.input()).bytes())));
    }

    @Test
    void aVerifierAtItsMaximumOfDevicesRefusesANewOneButServesTheOnesItTracks() {
        var appraiser = new Appraiser(
                AppraiserConfig.defaults().withClock(Fixtures.CLOCK).withMaxDevices(2));
        var a = Fixtures.signer();
        var b = Fixtures.signer();
        accepted(appraiser.appraise(a.sign(Fixtures.input()).bytes()));
        accepted(appraiser.appraise(b.sign(Fixtures.input()).bytes()));
        var r = rejected(
                appraiser.appraise(Fixtures.signer().sign(Fixtures.input()).bytes()), ReasonCode.RATE_LIMITED);
        assertTrue(r.detail().contains("--max-devices"), r.detail());
        accepted(appraiser.appraise(a.sign(Fixtures.input()).bytes()));
        assertEquals(2, appraiser.trackedDevices());
    }

    @Test
    void aRejectedReportOfANewDeviceCostsNoAdmission() {
        var appraiser = new Appraiser(AppraiserConfig.defaults()
                .withClock(Fixtures.CLOCK)
                .withNewDevicesPerMinute(1)
                .withFleet("beta"));
        for (int i = 0; i < 5; i++) {
            rejected(appraiser.appraise(Fixtures.signer().sign(Fixtures.input()).bytes()), ReasonCode.WRONG_FLEET);
        }
        var honest = new Appraiser(
                AppraiserConfig.defaults().withClock(Fixtures.CLOCK).withNewDevicesPerMinute(1));
        byte[] forged = Fixtures.signer().sign(Fixtures.input()).bytes();
        forged[forged.length - 1] ^= 1;
        rejected(honest.appraise(forged), ReasonCode.BAD_SIGNATURE);
        accepted(honest.appraise(Fixtures.signer().sign(Fixtures.input()).bytes()));
    }
}
