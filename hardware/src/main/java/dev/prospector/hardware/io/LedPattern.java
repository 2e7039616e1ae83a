package dev.prospector.hardware.io;

/**
 * What the status LED says, as a repeating sequence of on/off steps. Chosen to be told apart at
 * a glance across a room: slow blink while starting, almost always on while connected, a fast
 * flicker while a report goes out, a double blink on error, a strobe to find one board in a rack.
 */
public enum LedPattern {
    /** All off (the agent is stopped). */
    OFF(false, 1000),
    /** Slow blink: 0.5 s on, 0.5 s off, until the broker has answered. */
    STARTING(true, 500, 500),
    /** On, with a short blink off every 3 s to show the agent is alive. */
    CONNECTED(true, 2900, 100),
    /** Fast flicker: 0.1 s on, 0.1 s off, while a report is signed and sent. */
    REPORTING(true, 100, 100),
    /** Double blink every 2 s: something needs attention (see `prospector status`). */
    ERROR(true, 150, 150, 150, 1550),
    /** Strobe: 50 ms on, 50 ms off, so the operator can find this board. */
    IDENTIFY(true, 50, 50);

    private final boolean startsOn;
    private final long[] stepMillis;
    private final long cycleMillis;

    LedPattern(boolean startsOn, long... stepMillis) {
        this.startsOn = startsOn;
        this.stepMillis = stepMillis;
        long total = 0;
        for (long s : stepMillis) {
            total += s;
        }
        this.cycleMillis = total;
    }

    /** Whether the LED is lit {@code elapsedMillis} after the pattern started. */
    public boolean isOnAt(long elapsedMillis) {
        long t = Math.floorMod(elapsedMillis, cycleMillis);
        boolean on = startsOn;
        for (long step : stepMillis) {
            if (t < step) {
                return on;
            }
            t -= step;
            on = !on;
        }
        return on;
    }

    /** Length of one repetition, in ms. */
    public long cycleMillis() {
        return cycleMillis;
    }
}
