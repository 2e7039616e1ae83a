package dev.prospector.hardware;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Collects the readings of one group of reads, all stamped with the group's time. */
final class Readings {
    private final Instant time;
    private final List<Reading> list = new ArrayList<>(8);
    private Optional<String> bootId = Optional.empty();

    Readings(Instant time) {
        this.time = time;
    }

    Instant time() {
        return time;
    }

    void value(String name, double value, String unit, String source) {
        list.add(new Reading.Value(name, value, unit, source, time));
    }

    void unavailable(String name, String reason, String source) {
        list.add(new Reading.Unavailable(name, reason, source, time));
    }

    /** The same reason for several readings that share one failed source. */
    void unavailable(List<String> names, String reason, String source) {
        for (String name : names) {
            unavailable(name, reason, source);
        }
    }

    void bootId(String id) {
        bootId = Optional.of(id);
    }

    Optional<String> bootId() {
        return bootId;
    }

    List<Reading> list() {
        return list;
    }
}
