package dev.prospector.kafka;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.attest.Appraisal;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.DeviceId;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
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

    /**
     * The CBOR map, written directly (the bytes CBORObject would write: definite lengths, shortest
     * heads, keys in this order); a verifier writes one per report, inside its transaction.
     */
    byte[] encode() {
        return new Writer(64 + device.length() + hash.length + reason.length() + verifier.length())
                .map(6)
                .text("device")
                .text(device)
                .text("seq")
                .integer(seq)
                .text("hash")
                .bytes(hash)
                .text("outcome")
                .text(accepted ? "accepted" : "rejected")
                .text("reason")
                .text(reason)
                .text("verifier")
                .text(verifier)
                .toByteArray();
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
        String device = e.device().value();
        Writer w = new Writer(64
                        + device.length()
                        + e.key().length
                        + e.chain().length
                        + e.hash().length
                        + e.prev().map(p -> p.length).orElse(0))
                .map(e.prev().isPresent() ? 7 : 6)
                .text("device")
                .text(device)
                .text("key")
                .bytes(e.key())
                .text("chain")
                .bytes(e.chain())
                .text("seq")
                .integer(e.seq())
                .text("iat")
                .integer(e.iatMillis())
                .text("hash")
                .bytes(e.hash());
        if (e.prev().isPresent()) {
            w.text("prev").bytes(e.prev().get());
        }
        return w.toByteArray();
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

    /**
     * A minimal CBOR writer for the two records above: a definite-length map of text keys with
     * text, byte-string and integer values. It allocates one growing array per record, where
     * CBORObject built a map of boxed objects first: part of the verifier's own cost per report.
     */
    static final class Writer {
        private byte[] buf;
        private int len;

        Writer(int capacity) {
            buf = new byte[capacity];
        }

        Writer map(int entries) {
            return head(5, entries);
        }

        Writer text(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            head(3, b.length);
            return raw(b);
        }

        Writer bytes(byte[] b) {
            head(2, b.length);
            return raw(b);
        }

        Writer integer(long v) {
            return v >= 0 ? head(0, v) : head(1, -1 - v);
        }

        byte[] toByteArray() {
            return Arrays.copyOf(buf, len);
        }

        private Writer head(int major, long arg) {
            int m = major << 5;
            if (arg < 24) {
                room(1);
                buf[len++] = (byte) (m | arg);
            } else if (arg < 0x100) {
                room(2);
                buf[len++] = (byte) (m | 24);
                buf[len++] = (byte) arg;
            } else if (arg < 0x10000) {
                room(3);
                buf[len++] = (byte) (m | 25);
                buf[len++] = (byte) (arg >>> 8);
                buf[len++] = (byte) arg;
            } else if (arg < 0x100000000L) {
                room(5);
                buf[len++] = (byte) (m | 26);
                for (int shift = 24; shift >= 0; shift -= 8) {
                    buf[len++] = (byte) (arg >>> shift);
                }
            } else {
                room(9);
                buf[len++] = (byte) (m | 27);
                for (int shift = 56; shift >= 0; shift -= 8) {
                    buf[len++] = (byte) (arg >>> shift);
                }
            }
            return this;
        }

        private Writer raw(byte[] b) {
            room(b.length);
            System.arraycopy(b, 0, buf, len, b.length);
            len += b.length;
            return this;
        }

        private void room(int n) {
            if (len + n > buf.length) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + n));
            }
        }
    }
}
