package dev.prospector.hardware.io;

/** What the board's button asks the agent to do. Called on the button's thread; return quickly. */
public interface ButtonListener {

    /** A short press: send a report now. */
    void reportNow();

    /**
     * A long press: reset the chain state (sequence, hash chain, outbox) to factory state. The
     * scope is {@link ResetScope#CHAIN_STATE} for the first long press; only a second long press
     * within {@link ButtonConfig#confirmWindow()} widens it to {@link ResetScope#CHAIN_STATE_AND_KEY}.
     */
    void factoryReset(ResetScope scope);

    /** What a factory reset may remove. */
    enum ResetScope {
        /** The chain state only; the device key (and so the device id) stays. */
        CHAIN_STATE,
        /** The chain state and the device key: the board comes back as a new device. */
        CHAIN_STATE_AND_KEY
    }
}
