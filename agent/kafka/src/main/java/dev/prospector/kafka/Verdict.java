package dev.prospector.kafka;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.DeviceId;
import java.util.Optional;

/**
 * One record of the acceptance topic: what a verifier decided about one report. CBOR map
 * {@code {device, seq, hash, outcome: "accepted"|"rejected", reason, verifier}}; {@code seq} is -1
 * for a report whose seq could not be read.
 */
public record Verdict(String device, long seq, byte[] hash, boolean accepted, String reason, String verifier) {
    /** The verdict on an outcome that is not a duplicate. */
    static Verdict of(String keyDevice, Appraisal outcome, byte[] reportHash, String verifier) {
        if (outcome instanceof Appraisal.Accepted a) {
            return new Verdict(a.device().value(), a.seq(), a.reportHash(), true, "accepted", verifier);
        }
        Appraisal.Rejected r = (Appraisal.Rejected) outcome;
        return new Verdict(
                r.device().map(DeviceId::value).orElse(keyDevice),
                r.seq().isPresent() ? r.seq().getAsLong() : -1,
                reportHash,
                false,
                r.reason().code(),
                verifier);
    }

    byte[] encode() {
        return CBORObject.NewOrderedMap()
                .Add("device", device)
                .Add("seq", seq)
                .Add("hash", hash)
                .Add("outcome", accepted ? "accepted" : "rejected")
                .Add("reason", reason)
                .Add("verifier", verifier)
                .EncodeToBytes();
    }

    /** Decodes a record of the acceptance topic; empty for one that is not a verdict. */
    public static Optional<Verdict> decode(byte[] bytes) {
        try {
            CBORObject m = CBORObject.DecodeFromBytes(bytes);
            return Optional.of(new Verdict(
                    m.get("device").AsString(),
                    m.get("seq").AsInt64Value(),
                    m.get("hash").GetByteString(),
                    "accepted".equals(m.get("outcome").AsString()),
                    m.get("reason").AsString(),
                    m.get("verifier").AsString()));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /** An accepted entry as a record of the chain topic. */
    static byte[] encode(Appraiser.AcceptedEntry e) {
        CBORObject m = CBORObject.NewOrderedMap()
                .Add("device", e.device().value())
                .Add("key", e.key())
                .Add("chain", e.chain())
                .Add("seq", e.seq())
                .Add("iat", e.iatMillis())
                .Add("hash", e.hash());
        e.prev().ifPresent(p -> m.Add("prev", p));
        return m.EncodeToBytes();
    }

    /** A record of the chain topic; empty for one that does not decode (it is skipped). */
    static Optional<Appraiser.AcceptedEntry> decodeEntry(byte[] bytes) {
        try {
            CBORObject m = CBORObject.DecodeFromBytes(bytes);
            String device = m.get("device").AsString();
            if (!DeviceId.isValid(device)) {
                return Optional.empty();
            }
            CBORObject prev = m.get("prev");
            return Optional.of(new Appraiser.AcceptedEntry(
                    new DeviceId(device),
                    m.get("key").GetByteString(),
                    m.get("chain").GetByteString(),
                    m.get("seq").AsInt64Value(),
                    prev == null ? Optional.empty() : Optional.of(prev.GetByteString()),
                    m.get("iat").AsInt64Value(),
                    m.get("hash").GetByteString()));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }
}
