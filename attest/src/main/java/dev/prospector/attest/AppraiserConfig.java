package dev.prospector.attest;

import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

/**
 * How a verifier appraises reports. Validated on construction; each message names the setting.
 *
 * @param clockSkewWindow a report's iat must lie within this of the verifier's clock, either way
 * @param expectedFleet   if present, reports of other fleets are {@code wrong-fleet}
 * @param registry        if present, reports of devices not in it are {@code unknown-device}
 * @param challenges      if present, a report's nonce must be one issued here ({@code bad-nonce})
 * @param requireNonce    with challenges: a report without a nonce is {@code bad-nonce}
 * @param limits          plausibility bounds ({@code implausible})
 * @param clock           the verifier's clock
 * @param keyPins         if present, the device keys pinned across restarts (first sight and rotations)
 */
public record AppraiserConfig(Duration clockSkewWindow, Optional<String> expectedFleet, Optional<DeviceRegistry> registry,
        Optional<ChallengeStore> challenges, boolean requireNonce, PlausibilityLimits limits, Clock clock,
        Optional<KeyPinStore> keyPins) {

    /** Longest clock-skew window accepted: beyond it, freshness means nothing. */
    public static final Duration MAX_CLOCK_SKEW_WINDOW = Duration.ofDays(1);

    public AppraiserConfig {
        if (clockSkewWindow.isNegative() || clockSkewWindow.isZero() || clockSkewWindow.compareTo(MAX_CLOCK_SKEW_WINDOW) > 0) {
            throw new IllegalArgumentException("clock-skew window must be between 0 and " + MAX_CLOCK_SKEW_WINDOW + ", not " + clockSkewWindow);
        }
        expectedFleet.ifPresent(f -> Claims.checkText("expected fleet", f, false));
        if (requireNonce && challenges.isEmpty()) {
            throw new IllegalArgumentException("requireNonce needs a challenge store: configure challenges or turn requireNonce off");
        }
        if (limits == null || clock == null || keyPins == null) {
            throw new IllegalArgumentException("limits and clock are required");
        }
    }

    /** Window {@link Limits#CLOCK_SKEW_WINDOW}, any fleet, any device, no challenges, default limits, UTC clock. */
    public static AppraiserConfig defaults() {
        return new AppraiserConfig(Limits.CLOCK_SKEW_WINDOW, Optional.empty(), Optional.empty(), Optional.empty(), false,
                PlausibilityLimits.DEFAULTS, Clock.systemUTC(), Optional.empty());
    }

    public AppraiserConfig withClockSkewWindow(Duration window) {
        return new AppraiserConfig(window, expectedFleet, registry, challenges, requireNonce, limits, clock, keyPins);
    }

    public AppraiserConfig withFleet(String fleet) {
        return new AppraiserConfig(clockSkewWindow, Optional.of(fleet), registry, challenges, requireNonce, limits, clock, keyPins);
    }

    public AppraiserConfig withRegistry(DeviceRegistry r) {
        return new AppraiserConfig(clockSkewWindow, expectedFleet, Optional.of(r), challenges, requireNonce, limits, clock, keyPins);
    }

    public AppraiserConfig withChallenges(ChallengeStore store, boolean require) {
        return new AppraiserConfig(clockSkewWindow, expectedFleet, registry, Optional.of(store), require, limits, clock, keyPins);
    }

    public AppraiserConfig withLimits(PlausibilityLimits l) {
        return new AppraiserConfig(clockSkewWindow, expectedFleet, registry, challenges, requireNonce, l, clock, keyPins);
    }

    /** Pins device keys in {@code store}, so rotations survive a verifier restart. */
    public AppraiserConfig withKeyPins(KeyPinStore store) {
        return new AppraiserConfig(clockSkewWindow, expectedFleet, registry, challenges, requireNonce, limits, clock, Optional.of(store));
    }

    public AppraiserConfig withClock(Clock c) {
        return new AppraiserConfig(clockSkewWindow, expectedFleet, registry, challenges, requireNonce, limits, c, keyPins);
    }
}
