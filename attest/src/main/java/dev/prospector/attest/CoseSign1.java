package dev.prospector.attest;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * Tagged COSE_Sign1 (RFC 9052 section 4.2) with EdDSA over Ed25519, as Prospector uses it:
 *
 * <pre>
 * 18([ protected: bstr .cbor {1: -8, 4: kid}, unprotected: {}, payload: bstr, signature: bstr(64) ])
 * </pre>
 *
 * The signature covers {@code Sig_structure = ["Signature1", protected, h'', payload]} (external
 * AAD empty). Decoding accepts only this shape: other algorithms, header parameters or a
 * non-empty unprotected header are malformed.
 */
public final class CoseSign1 {
    /** CBOR tag of COSE_Sign1. */
    public static final int TAG = 18;
    /** COSE header label {@code alg}. */
    public static final int HEADER_ALG = 1;
    /** COSE header label {@code kid}. */
    public static final int HEADER_KID = 4;
    /** COSE algorithm EdDSA. */
    public static final int ALG_EDDSA = -8;

    private static final byte[] SIGNATURE1 = "Signature1".getBytes(StandardCharsets.US_ASCII);

    private CoseSign1() {}

    /** The parts of a decoded COSE_Sign1; arrays are owned by the record, treat as read-only. */
    public record Parts(byte[] protectedHeader, byte[] kid, byte[] payload, byte[] signature) {
        /** True if {@link #signature} is a valid Ed25519 signature by {@code publicKey}. */
        public boolean verify(byte[] publicKey) {
            if (publicKey.length != Ed25519.PUBLIC_KEY_SIZE || signature.length != Ed25519.SIGNATURE_SIZE) {
                return false;
            }
            byte[] tbs = toBeSigned(protectedHeader, payload);
            return Ed25519.verify(signature, 0, publicKey, 0, tbs, 0, tbs.length);
        }

        /** As {@link #verify(byte[])}, with a public point decoded once and reused. */
        public boolean verify(Ed25519.PublicPoint publicPoint) {
            if (signature.length != Ed25519.SIGNATURE_SIZE) {
                return false;
            }
            byte[] tbs = toBeSigned(protectedHeader, payload);
            return Ed25519.verify(signature, 0, publicPoint, tbs, 0, tbs.length);
        }
    }

    /** The protected header {1: -8, 4: kid}, deterministically encoded. */
    public static byte[] protectedHeader(byte[] kid) {
        return Cbor.encode(Cbor.map()
                .put(HEADER_ALG, new Cbor.Int(ALG_EDDSA))
                .put(HEADER_KID, new Cbor.Bytes(kid))
                .build());
    }

    /** The bytes Ed25519 signs: the encoded Sig_structure. */
    public static byte[] toBeSigned(byte[] protectedHeader, byte[] payload) {
        return toBeSigned(protectedHeader, 0, protectedHeader.length, payload, 0, payload.length);
    }

    /** The Sig_structure of the protected header {@code prot[pFrom, pTo)} and the payload {@code pay[from, to)}. */
    static byte[] toBeSigned(byte[] prot, int pFrom, int pTo, byte[] pay, int from, int to) {
        // Written into one exactly sized array: this runs once per appraisal.
        int protLength = pTo - pFrom;
        int payloadLength = to - from;
        byte[] out = new byte[sigStructureOffset(protLength, payloadLength) + payloadLength];
        int p = 0;
        out[p++] = (byte) 0x84; // array of 4
        out[p++] = (byte) (0x60 | SIGNATURE1.length); // text of 10
        System.arraycopy(SIGNATURE1, 0, out, p, SIGNATURE1.length);
        p += SIGNATURE1.length;
        p = bstrHead(out, p, protLength);
        System.arraycopy(prot, pFrom, out, p, protLength);
        p += protLength;
        out[p++] = 0x40; // external_aad: empty byte string
        p = bstrHead(out, p, payloadLength);
        System.arraycopy(pay, from, out, p, payloadLength);
        return out;
    }

    /** Where the protected header's bytes start in the Sig_structure of a protected header of this length. */
    static int sigStructureProtectedOffset(int protLength) {
        return 1 + 1 + SIGNATURE1.length + headSize(protLength);
    }

    /** Where the payload starts in the Sig_structure of a protected header and a payload of these lengths. */
    static int sigStructureOffset(int protLength, int payloadLength) {
        return sigStructureProtectedOffset(protLength) + protLength + 1 + headSize(payloadLength);
    }

    private static int headSize(int length) {
        return length < 24 ? 1 : length <= 0xff ? 2 : length <= 0xffff ? 3 : 5;
    }

    private static int bstrHead(byte[] out, int p, int length) {
        if (length < 24) {
            out[p++] = (byte) (0x40 | length);
        } else if (length <= 0xff) {
            out[p++] = 0x58;
            out[p++] = (byte) length;
        } else if (length <= 0xffff) {
            out[p++] = 0x59;
            out[p++] = (byte) (length >>> 8);
            out[p++] = (byte) length;
        } else {
            out[p++] = 0x5a;
            for (int s = 24; s >= 0; s -= 8) {
                out[p++] = (byte) (length >>> s);
            }
        }
        return p;
    }

    /** Signs {@code payload} with {@code keys}, naming {@code kid}. */
    public static byte[] sign(byte[] kid, byte[] payload, DeviceKeys keys) {
        byte[] header = protectedHeader(kid);
        byte[] signature = keys.sign(toBeSigned(header, payload));
        return Cbor.encode(new Cbor.Tagged(
                TAG,
                new Cbor.Array(java.util.List.of(
                        new Cbor.Bytes(header),
                        Cbor.map().build(),
                        new Cbor.Bytes(payload),
                        new Cbor.Bytes(signature)))));
    }

    /** Decodes a tagged COSE_Sign1 of the shape above, or says why it is not one. */
    public static Parts decode(byte[] bytes) throws MalformedReportException {
        Span s = span(bytes);
        return new Parts(
                Arrays.copyOfRange(bytes, s.protectedFrom(), s.protectedTo()),
                s.kid(),
                Arrays.copyOfRange(bytes, s.payloadFrom(), s.payloadTo()),
                Arrays.copyOfRange(bytes, s.signatureFrom(), s.signatureFrom() + Ed25519.SIGNATURE_SIZE));
    }

    /** Where the parts of a decoded COSE_Sign1 lie in its bytes, and the kid. */
    record Span(int protectedFrom, int protectedTo, int payloadFrom, int payloadTo, int signatureFrom, byte[] kid) {}

    /** Checks {@code bytes} as {@link #decode} does and says where each part is, copying nothing but the kid. */
    static Span span(byte[] bytes) throws MalformedReportException {
        if (bytes.length > Limits.MAX_REPORT_BYTES) {
            throw new MalformedReportException(
                    "report of " + bytes.length + " bytes exceeds the limit of " + Limits.MAX_REPORT_BYTES);
        }
        // Streamed: the shape is fixed, so each part is read as what it must be (this runs once per appraisal).
        var r = new Cbor.Reader(bytes, 0, bytes.length);
        if (r.tag("not a tagged COSE_Sign1 (CBOR tag 18)") != TAG) {
            throw new MalformedReportException("not a tagged COSE_Sign1 (CBOR tag 18)");
        }
        if (r.containerHeader(4, "COSE_Sign1") != 4) {
            throw new MalformedReportException("COSE_Sign1 is not an array of 4 items");
        }
        int prot = r.bytesAt("COSE_Sign1 protected header is not a byte string", 0, Integer.MAX_VALUE);
        int protEnd = r.pos;
        if (!r.tryKey(EMPTY_MAP)) {
            throw new MalformedReportException("COSE_Sign1 unprotected header is not an empty map");
        }
        int payload = r.bytesAt(
                "COSE_Sign1 payload is not a byte string (detached payloads are not used)", 0, Integer.MAX_VALUE);
        int payloadEnd = r.pos;
        int sig = r.bytesAt(
                "COSE_Sign1 signature is not a 64-byte string", Ed25519.SIGNATURE_SIZE, Ed25519.SIGNATURE_SIZE);
        r.finish();
        return new Span(prot, protEnd, payload, payloadEnd, sig, kidOf(Arrays.copyOfRange(bytes, prot, protEnd)));
    }

    private static final Cbor.Key EMPTY_MAP = Cbor.Key.of(new byte[] {(byte) 0xa0});
    /** {@code {1: -8, 4: } ...}: the only deterministic encoding of a protected header up to its kid. */
    private static final Cbor.Key HEADER_PREFIX = Cbor.Key.of(new byte[] {(byte) 0xa2, 0x01, 0x27, 0x04});

    /** The kid of a protected header that is exactly {@code {1: -8, 4: kid}}, or why it is not. */
    private static byte[] kidOf(byte[] prot) throws MalformedReportException {
        var r = new Cbor.Reader(prot, 0, prot.length);
        if (r.tryKey(HEADER_PREFIX)) {
            try {
                byte[] kid = r.bytes("kid", 0, Integer.MAX_VALUE);
                r.finish();
                return kid;
            } catch (MalformedReportException e) {
                // Not this shape after all: the general decoding below says what is wrong.
            }
        }
        if (!(Cbor.decode(prot) instanceof Cbor.MapValue header)
                || header.entries().size() != 2) {
            throw new MalformedReportException("protected header is not a map of exactly alg and kid");
        }
        var alg = header.get(HEADER_ALG);
        if (alg.isEmpty() || !alg.get().equals(new Cbor.Int(ALG_EDDSA))) {
            throw new MalformedReportException("protected header alg is not EdDSA (-8)");
        }
        if (!(header.get(HEADER_KID).orElse(null) instanceof Cbor.Bytes kid)) {
            throw new MalformedReportException("protected header has no byte-string kid");
        }
        return kid.value();
    }

    static boolean sameKey(byte[] a, byte[] b) {
        return Arrays.equals(a, b);
    }
}
