package dev.prospector.agent.verifier;

import dev.prospector.attest.Sha256;
import java.nio.charset.StandardCharsets;

/**
 * How verifiers of one group split the devices: device {@code d} belongs to partition
 * {@code SHA-256(d)[0..4] mod count}. Each partition is served by one verifier process, which
 * alone holds those devices' chains, so no report can be accepted by two verifiers.
 *
 * @param group the shared-subscription group name
 * @param index this verifier's partition, 0-based
 * @param count how many partitions (verifiers) the group has
 */
public record Partitioning(String group, int index, int count) {
    /** Largest group: a partition per verifier process. */
    public static final int MAX_PARTITIONS = 256;

    public Partitioning {
        if (group == null || !group.matches("[a-z0-9][a-z0-9_-]{0,62}")) {
            throw new IllegalArgumentException(
                    "verifier group '" + group + "' is not valid: use 1-63 lowercase letters, digits, '_' or '-'");
        }
        if (count < 1 || count > MAX_PARTITIONS) {
            throw new IllegalArgumentException("partition count " + count + " is out of range 1-" + MAX_PARTITIONS);
        }
        if (index < 0 || index >= count) {
            throw new IllegalArgumentException("partition " + index + " is out of range 0-" + (count - 1));
        }
    }

    /** Parses {@code I/N}, e.g. {@code 0/2}. */
    public static Partitioning parse(String group, String spec) {
        String[] parts = spec.split("/");
        if (parts.length != 2) {
            throw new IllegalArgumentException(
                    "partition '" + spec + "' is not I/N: write e.g. 0/2 for the first of two verifiers");
        }
        try {
            return new Partitioning(group, Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "partition '" + spec + "' is not I/N: write e.g. 0/2 for the first of two verifiers");
        }
    }

    /** The partition that owns a device. */
    public int owner(String device) {
        byte[] h = Sha256.of(device.getBytes(StandardCharsets.UTF_8));
        long v = ((h[0] & 0xffL) << 24) | ((h[1] & 0xffL) << 16) | ((h[2] & 0xffL) << 8) | (h[3] & 0xffL);
        return (int) (v % count);
    }

    public boolean owns(String device) {
        return owner(device) == index;
    }
}
