package dev.prospector.agent.pos;

import dev.prospector.attest.AuditAnswer;
import dev.prospector.attest.PlotCommitment;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;

/**
 * What the agent needs of the board's committed plot: the commitment once plotting is done, the
 * answer to a storage audit, and how far plotting has come. {@link PlotFile} is the real one; an
 * interface so that tests can give a node a store that cheats (regenerates leaves on demand,
 * answers with damaged leaves) and watch the verifier catch it.
 */
public interface PlotStore extends AutoCloseable {
    /** The plot's commitment, once every leaf is written; empty before (and without a plot). */
    Optional<PlotCommitment> commitment();

    /**
     * The openings for the audit that {@code nonce} makes of {@code k} leaves of the committed
     * plot ({@link dev.prospector.attest.Audit#indices}, {@link dev.prospector.attest.Audit#openings}).
     *
     * @throws IOException when the plot cannot be read, or there is no committed plot yet: the
     *     caller answers {@link AuditAnswer#failed} with the message
     */
    AuditAnswer answer(byte[] nonce, int k) throws IOException;

    /** How far plotting has come. */
    Progress progress();

    /** Stops plotting (a later start resumes it) and releases the files. */
    @Override
    default void close() {}

    /** No plot: the reports commit none, audits are answered with an error. */
    static PlotStore none() {
        return None.INSTANCE;
    }

    /** Where plotting is. */
    enum State {
        /** No plot configured. */
        OFF,
        /** Leaves are being written (or waiting to be). */
        PLOTTING,
        /** Every leaf is written; the commitment is in the reports. */
        DONE,
        /** Not plotting: the disk lacks room above the reserve, or the files cannot be written. */
        STOPPED
    }

    /**
     * @param state where plotting is
     * @param bytesDone bytes of leaves written and checkpointed or in progress
     * @param bytesTotal bytes of leaves the plot has (0 when off)
     * @param bytesPerSecond the recent plotting rate (0 when not plotting)
     * @param timeLeft an estimate at the recent rate (zero when done or unknown)
     * @param detail one sentence: what is happening, or why plotting stopped
     */
    record Progress(
            State state, long bytesDone, long bytesTotal, double bytesPerSecond, Duration timeLeft, String detail) {
        public static final Progress OFF = new Progress(State.OFF, 0, 0, 0, Duration.ZERO, "no plot (--plot-size 0)");

        /** Percent of the leaves written, 0 to 100. */
        public double percent() {
            return bytesTotal == 0 ? 0 : 100.0 * bytesDone / bytesTotal;
        }

        /** Mebibytes per second. */
        public double mibPerSecond() {
            return bytesPerSecond / (1 << 20);
        }

        @Override
        public String toString() {
            return switch (state) {
                case OFF -> "no plot";
                case DONE -> "plot of " + (bytesTotal >> 20) + " MiB done";
                case STOPPED -> "plotting stopped: " + detail;
                case PLOTTING ->
                    String.format(
                            java.util.Locale.ROOT,
                            "plotting %.1f%% of %d MiB, %.1f MiB/s, %s left",
                            percent(),
                            bytesTotal >> 20,
                            mibPerSecond(),
                            format(timeLeft));
            };
        }

        private static String format(Duration d) {
            long s = d.toSeconds();
            return s >= 3600
                    ? (s / 3600) + "h" + (s % 3600 / 60) + "m"
                    : s >= 60 ? (s / 60) + "m" + (s % 60) + "s" : s + "s";
        }
    }

    /** The store of a board without a plot. */
    final class None implements PlotStore {
        static final None INSTANCE = new None();

        private None() {}

        @Override
        public Optional<PlotCommitment> commitment() {
            return Optional.empty();
        }

        @Override
        public AuditAnswer answer(byte[] nonce, int k) throws IOException {
            throw new IOException("this board keeps no plot (--plot-size 0)");
        }

        @Override
        public Progress progress() {
            return Progress.OFF;
        }
    }
}
