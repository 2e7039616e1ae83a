package dev.prospector.attest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;

/**
 * The devices a verifier accepts reports from. File format: one device id per line; blank lines
 * and text after {@code #} are ignored. (Later the ledger's registrations replace the file.)
 */
public final class DeviceRegistry {
    private final Set<DeviceId> allowed;

    private DeviceRegistry(Set<DeviceId> allowed) {
        this.allowed = Set.copyOf(allowed);
    }

    public static DeviceRegistry of(Collection<DeviceId> devices) {
        return new DeviceRegistry(new HashSet<>(devices));
    }

    /**
     * Reads a registry file.
     *
     * @throws IllegalArgumentException naming the file, line and fix when a line is not a device id
     *                                  or the file cannot be read
     */
    public static DeviceRegistry load(Path file) {
        try {
            var ids = new HashSet<DeviceId>();
            var lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                int hash = line.indexOf('#');
                String id = (hash >= 0 ? line.substring(0, hash) : line).trim();
                if (id.isEmpty()) {
                    continue;
                }
                if (!DeviceId.isValid(id)) {
                    throw new IllegalArgumentException(
                            "device registry " + file + " line " + (i + 1) + ": '" + id
                                    + "' is not a device id (p and 24 of a-z, 2-7, as `prospector keygen` prints); fix or remove the line");
                }
                ids.add(new DeviceId(id));
            }
            return new DeviceRegistry(ids);
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "cannot read device registry " + file + " (" + e.getMessage()
                            + "); check the path given to the verifier",
                    e);
        }
    }

    public boolean allows(DeviceId device) {
        return allowed.contains(device);
    }

    public int size() {
        return allowed.size();
    }
}
