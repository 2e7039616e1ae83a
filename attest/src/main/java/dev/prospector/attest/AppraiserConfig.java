package dev.prospector.attest;

import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

/**
 * How a verifier appraises reports. Validated on construction; each message names the setting.
 *
 * @param clockSkewWindow     a report's iat must lie within this of the verifier's clock, either way
 * @param expectedFleet       if present, reports of other fleets are {@code wrong-fleet}
 * @param registry            if present, reports of devices not in it are {@code unknown-device}
 * @param challenges          if present, a report's nonce must be one issued here ({@code bad-nonce})
 * @param requireNonce        with challenges: a report without a nonce is {@code bad-nonce}
 * @param limits              plausibility bounds ({@code implausible})
 * @param clock               the verifier's clock
 * @param keyPins             if present, the device keys pinned across restarts (first sight and rotations)
 * @param allowEmulated       accept reports that claim to come from an emulated board (tests, the
 *                            demo); otherwise they are {@code emulated}
 * @param maxDevices          most devices the appraiser keeps chain state for; a report of a further
 *                            device is {@code rate-limited} (the device sends it again later)
 * @param newDevicesPerMinute without a registry: most devices seen for the first time per minute
 *                            (a burst of as many, then that rate); beyond it a first report is
 *                            {@code rate-limited} and its key not pinned. 0 for no cap. Ignored with
 *                            a registry, which bounds the devices itself.
 */
public record AppraiserConfig(
        Duration clockSkewWindow,
        Optional<String> expectedFleet,
        Optional<DeviceRegistry> registry,
        Optional<ChallengeStore> challenges,
        boolean requireNonce,
        PlausibilityLimits limits,
        Clock clock,
        Optional<KeyPinStore> keyPins,
        boolean allowEmulated,
        int maxDevices,
        int newDevicesPerMinute) {

    /** Longest clock-skew window accepted: beyond it, freshness means nothing. */
    public static final Duration MAX_CLOCK_SKEW_WINDOW = Duration.ofDays(1);

    /**
     * Default bound on the devices tracked: at about 2.5 KiB of chain state each (see
     * {@link Appraiser}), some 250 MiB, within the verifier's 1 GiB heap.
     */
    public static final int DEFAULT_MAX_DEVICES = 100_000;

    /**
     * The verifier's default cap on new devices per minute when it has no registry: every
     * self-signed device is pinned for good on first sight, so this bounds how fast strangers can
     * grow the key pins and the chain state (600/min is 10 boards a second joining, far above a
     * real fleet's pace; a fleet flashing more at once sees some first reports retried later).
     */
    public static final int DEFAULT_NEW_DEVICES_PER_MINUTE = 600;

    public AppraiserConfig {
        if (clockSkewWindow.isNegative()
                || clockSkewWindow.isZero()
                || clockSkewWindow.compareTo(MAX_CLOCK_SKEW_WINDOW) > 0) {
            throw new IllegalArgumentException("clock-skew window must be more than 0 ms and at most "
                    + MAX_CLOCK_SKEW_WINDOW.toMillis() + " ms, not " + clockSkewWindow.toMillis() + " ms");
        }
        expectedFleet.ifPresent(f -> Claims.checkText("expected fleet", f, false));
        if (requireNonce && challenges.isEmpty()) {
            throw new IllegalArgumentException(
                    "requireNonce needs a challenge store: configure challenges or turn requireNonce off");
        }
        if (limits == null || clock == null || keyPins == null) {
            throw new IllegalArgumentException("limits and clock are required");
        }
        if (maxDevices < 1) {
            throw new IllegalArgumentException("max devices must be at least 1, not " + maxDevices);
        }
        if (newDevicesPerMinute < 0) {
            throw new IllegalArgumentException(
                    "new devices per minute must be 0 (no cap) or more, not " + newDevicesPerMinute);
        }
    }

    /**
     * Window {@link Limits#CLOCK_SKEW_WINDOW}, any fleet, any device, no challenges, default limits,
     * UTC clock, no emulated evidence, {@link #DEFAULT_MAX_DEVICES} devices, no cap on new devices
     * per minute (the command line sets {@link #DEFAULT_NEW_DEVICES_PER_MINUTE}).
     */
    public static AppraiserConfig defaults() {
        return new AppraiserConfig(
                Limits.CLOCK_SKEW_WINDOW,
                Optional.empty(),
                Optional.empty(),
                Optional.empty(),
                false,
                PlausibilityLimits.DEFAULTS,
                Clock.systemUTC(),
                Optional.empty(),
                false,
                DEFAULT_MAX_DEVICES,
                0);
    }

    public AppraiserConfig withClockSkewWindow(Duration window) {
        return new AppraiserConfig(
                window,
                expectedFleet,
                registry,
                challenges,
                requireNonce,
                limits,
                clock,
                keyPins,
                allowEmulated,
                maxDevices,
                newDevicesPerMinute);
    }

    public AppraiserConfig withFleet(String fleet) {
        return new AppraiserConfig(
                clockSkewWindow,
                Optional.of(fleet),
                registry,
                challenges,
                requireNonce,
                limits,
                clock,
                keyPins,
                allowEmulated,
                maxDevices,
                newDevicesPerMinute);
    }

    public AppraiserConfig withRegistry(DeviceRegistry r) {
        return new AppraiserConfig(
                clockSkewWindow,
                expectedFleet,
                Optional.of(r),
                challenges,
                requireNonce,
                limits,
                clock,
                keyPins,
                allowEmulated,
                maxDevices,
                newDevicesPerMinute);
    }

    public AppraiserConfig withChallenges(ChallengeStore store, boolean require) {
        return new AppraiserConfig(
                clockSkewWindow,
                expectedFleet,
                registry,
                Optional.of(store),
                require,
                limits,
                clock,
                keyPins,
                allowEmulated,
                maxDevices,
                newDevicesPerMinute);
    }

    public AppraiserConfig withLimits(PlausibilityLimits l) {
        return new AppraiserConfig(
                clockSkewWindow,
                expectedFleet,
                registry,
                challenges,
                requireNonce,
                l,
                clock,
                keyPins,
                allowEmulated,
                maxDevices,
                newDevicesPerMinute);
    }

    /** Pins device keys in {@code store}, so rotations survive a verifier restart. */
    public AppraiserConfig withKeyPins(KeyPinStore store) {
        return new AppraiserConfig(
                clockSkewWindow,
                expectedFleet,
                registry,
                challenges,
                requireNonce,
                limits,
                clock,
                Optional.of(store),
                allowEmulated,
                maxDevices,
                newDevicesPerMinute);
    }

    public AppraiserConfig withClock(Clock c) {
        return new AppraiserConfig(
                clockSkewWindow,
                expectedFleet,
                registry,
                challenges,
                requireNonce,
                limits,
                c,
                keyPins,
                allowEmulated,
                maxDevices,
                newDevicesPerMinute);
    }

    /** Accepts (or not) reports that claim to come from an emulated board. */
    public AppraiserConfig withAllowEmulated(boolean allow) {
        return new AppraiserConfig(
                clockSkewWindow,
                expectedFleet,
                registry,
                challenges,
                requireNonce,
                limits,
                clock,
                keyPins,
                allow,
                maxDevices,
                newDevicesPerMinute);
    }

    /** Keeps chain state for at most {@code max} devices. */
    public AppraiserConfig withMaxDevices(int max) {
        return new AppraiserConfig(
                clockSkewWindow,
                expectedFleet,
                registry,
                challenges,
                requireNonce,
                limits,
                clock,
                keyPins,
                allowEmulated,
                max,
                newDevicesPerMinute);
    }

    /** Without a registry, admits at most {@code perMinute} new devices a minute (0: no cap). */
    public AppraiserConfig withNewDevicesPerMinute(int perMinute) {
        return new AppraiserConfig(
                clockSkewWindow,
                expectedFleet,
                registry,
                challenges,
                requireNonce,
                limits,
                clock,
                keyPins,
                allowEmulated,
                maxDevices,
                perMinute);
    }
}
