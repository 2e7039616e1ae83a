package dev.prospector.hardware;

/** Which board implementation {@link Boards#open(BoardConfig)} opens. */
public enum BoardSelection {
    /** The real readers on an ARM board, the emulated board on anything else. */
    AUTO,
    /** The real /proc and /sys readers, on any Linux machine (including x86 hosts). */
    LINUX,
    /** The emulated board, with values that move over time and switchable faults. */
    EMULATED
}
