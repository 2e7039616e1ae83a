package dev.prospector.hardware.board;

import java.util.Objects;

/**
 * What the board is.
 *
 * @param kind one of {@code pi-zero-2-w}, {@code pi-3}, {@code pi-4}, {@code pi-5}, {@code cm4},
 *     {@code arm} (another ARM board), {@code linux} (a non-ARM host read for real) or
 *     {@code emulated}
 * @param model the model as the board names itself (device tree or cpuinfo), or a description
 * @param arch the CPU architecture: {@code aarch64}, {@code armv7l}, {@code armv6l},
 *     {@code x86_64}, ...
 * @param sha2Extensions whether the CPU has SHA-256 instructions (ARMv8 crypto extension
 *     {@code sha2}, or {@code sha_ni} on x86); the ledger executor picks its hash path by it
 */
public record BoardInfo(String kind, String model, String arch, boolean sha2Extensions) {

    public BoardInfo {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(arch, "arch");
    }

    /** Whether this is a Raspberry Pi (any model, including the compute module). */
    public boolean isRaspberryPi() {
        return kind.startsWith("pi-") || kind.equals("cm4");
    }
}
