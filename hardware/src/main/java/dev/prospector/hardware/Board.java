package dev.prospector.hardware;

import dev.prospector.hardware.board.BoardInfo;

/**
 * A board the agent measures: a real Linux board read through /proc and /sys (and I2C sensors),
 * or an emulated one. Implementations are thread-safe.
 */
public interface Board extends AutoCloseable {

    /** What the board is; fixed for the board's life. */
    BoardInfo info();

    /**
     * Takes one round of measurements. Never throws and never stalls: every read is bounded by
     * the configured timeout, and a read that fails or times out becomes a
     * {@link Reading.Unavailable} with its reason.
     */
    Snapshot measure();

    /** Stops the board's reader threads. Idempotent. */
    @Override
    void close();
}
