package dev.prospector.hardware;

/** Which board implementation {@link Boards#open(BoardConfig)} opens. */
public enum BoardSelection {
    /** The real readers of this machine (a Pi, another ARM board, or any Linux machine); never the emulated board. */
    AUTO,
    /** The real /proc and /sys readers, on any Linux machine (including x86 hosts). */
    LINUX,
    /** The emulated board, with values that move over time and switchable faults. */
    EMULATED
}
