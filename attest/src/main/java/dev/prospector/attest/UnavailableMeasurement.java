package dev.prospector.attest;

/** A measurement that could not be taken, with the reason (for example "no such interface"). */
public record UnavailableMeasurement(String name, String reason) implements Measurement {
    public UnavailableMeasurement {
        Claims.checkText("measurement name", name, false);
        Claims.checkText("unavailable reason", reason, false);
    }
}
