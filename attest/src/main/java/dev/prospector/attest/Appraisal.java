package dev.prospector.attest;

import java.util.Optional;
import java.util.OptionalLong;

/** The outcome of appraising one report. */
public sealed interface Appraisal permits Appraisal.Accepted, Appraisal.Rejected {

    /** True for {@link Accepted}. */
    default boolean accepted() {
        return this instanceof Accepted;
    }

    /**
     * The report is genuine and continues (or restarts) its device's chain.
     *
     * @param device       the device
     * @param seq          the report's seq
     * @param claims       the report's claims
     * @param duplicate    an exact copy of a report already accepted: acknowledge it, count it once
     * @param gap          how many seqs were skipped before this one (0 when contiguous)
     * @param chainRestart the first report of a new chain (the device lost its chain state)
     * @param reportHash   SHA-256 of the report's bytes (what the next report's prev names)
     */
    record Accepted(
            DeviceId device,
            long seq,
            Claims claims,
            boolean duplicate,
            long gap,
            boolean chainRestart,
            byte[] reportHash)
            implements Appraisal {
        /** SHA-256 of the report's bytes (a copy: the appraiser keeps the original). */
        @Override
        public byte[] reportHash() {
            return reportHash.clone();
        }

        @Override
        public String toString() {
            return "accepted " + device + " seq " + seq + (duplicate ? " (duplicate)" : "")
                    + (gap > 0 ? " (gap " + gap + ")" : "") + (chainRestart ? " (chain restart)" : "");
        }
    }

    /**
     * The report is refused.
     *
     * @param reason the stable reason code
     * @param detail one sentence for the operator
     * @param device the device, when the report was decodable
     * @param seq    the seq, when the report was decodable
     */
    record Rejected(ReasonCode reason, String detail, Optional<DeviceId> device, OptionalLong seq)
            implements Appraisal {
        @Override
        public String toString() {
            return "rejected " + reason.code() + device.map(d -> " " + d).orElse("")
                    + (seq.isPresent() ? " seq " + seq.getAsLong() : "") + ": " + detail;
        }
    }
}
