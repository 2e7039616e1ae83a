package dev.prospector.attest;

import java.util.Arrays;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * A decoded report: the parts of its COSE_Sign1 and its claims. Reports are self-verifying: the
 * payload carries the signing key ({@code key}) and, after rotations, the statements that link it
 * to the device's first key, whose hash is the device id. A verifier additionally pins the key it
 * has seen for the device (see {@link Appraiser}).
 *
 * <p>Decoding copies the report's bytes once, into the Sig_structure that the signature covers;
 * the claims are read from there and a verification hashes it as it is.
 */
public final class Report {
    private final byte[] toBeSigned;
    private final int protectedFrom;
    private final int protectedTo;
    private final int payloadFrom;
    private final Claims claims;
    private final byte[] signature;

    private Report(
            byte[] toBeSigned, int protectedFrom, int protectedTo, int payloadFrom, Claims claims, byte[] signature) {
        this.toBeSigned = toBeSigned;
        this.protectedFrom = protectedFrom;
        this.protectedTo = protectedTo;
        this.payloadFrom = payloadFrom;
        this.claims = claims;
        this.signature = signature;
    }

    /**
     * Decodes a report, or throws {@link MalformedReportException} (and nothing else) saying why the
     * bytes are not one. Bounded: at most {@link Limits#MAX_REPORT_BYTES} are read, nesting is
     * limited to {@link Limits#MAX_CBOR_DEPTH}, nothing larger than the input is allocated.
     */
    public static Report decode(byte[] bytes) throws MalformedReportException {
        try {
            var span = CoseSign1.span(bytes);
            int protLength = span.protectedTo() - span.protectedFrom();
            int payloadLength = span.payloadTo() - span.payloadFrom();
            byte[] tbs = CoseSign1.toBeSigned(
                    bytes, span.protectedFrom(), span.protectedTo(), bytes, span.payloadFrom(), span.payloadTo());
            int payloadFrom = CoseSign1.sigStructureOffset(protLength, payloadLength);
            int protectedFrom = CoseSign1.sigStructureProtectedOffset(protLength);
            var claims = Claims.decode(tbs, payloadFrom, tbs.length);
            if (!claims.device().matchesKid(span.kid())) {
                throw new MalformedReportException(
                        "kid " + Hex.encode(span.kid()) + " is not the device id " + claims.device());
            }
            byte[] sig = Arrays.copyOfRange(bytes, span.signatureFrom(), span.signatureFrom() + Ed25519.SIGNATURE_SIZE);
            return new Report(tbs, protectedFrom, protectedFrom + protLength, payloadFrom, claims, sig);
        } catch (MalformedReportException e) {
            throw e;
        } catch (RuntimeException | StackOverflowError e) {
            // Defence in depth: the decoder is written not to throw anything else.
            throw new MalformedReportException(
                    "undecodable report (" + e.getClass().getSimpleName() + ")");
        }
    }

    /** The protected header's bytes ({@code {1: -8, 4: kid}}). */
    public byte[] protectedHeader() {
        return Arrays.copyOfRange(toBeSigned, protectedFrom, protectedTo);
    }

    /** The decoded payload. */
    public Claims claims() {
        return claims;
    }

    /** The payload's bytes as signed. */
    public byte[] payload() {
        return Arrays.copyOfRange(toBeSigned, payloadFrom, toBeSigned.length);
    }

    /** The 64-byte Ed25519 signature. */
    public byte[] signature() {
        return signature.clone();
    }

    /** The COSE parts, for verification with a given key. */
    public CoseSign1.Parts parts() {
        return new CoseSign1.Parts(protectedHeader(), claims.device().kid(), payload(), signature());
    }

    /** True if the signature is valid for the public point {@code key} (decoded once, reused). */
    public boolean verify(Ed25519.PublicPoint key) {
        return Ed25519.verify(signature, 0, key, toBeSigned, 0, toBeSigned.length);
    }

    /**
     * True if the signature is valid for the embedded {@code key} and every key rotation statement
     * is signed by the key it rotates from. (That {@code dev} is the hash of the first key and the
     * rotations chain up to {@code key} is checked on decoding.)
     */
    public boolean verifySignature() {
        for (var r : claims.rotations()) {
            if (!r.verifySignature()) {
                return false;
            }
        }
        byte[] key = claims.key();
        return key.length == Ed25519.PUBLIC_KEY_SIZE
                && Ed25519.verify(signature, 0, key, 0, toBeSigned, 0, toBeSigned.length);
    }

    @Override
    public String toString() {
        return "Report[" + claims + "]";
    }
}
