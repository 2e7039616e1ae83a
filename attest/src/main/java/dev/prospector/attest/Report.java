package dev.prospector.attest;

import java.util.Arrays;

/**
 * A decoded report: the parts of its COSE_Sign1 and its claims. Reports are self-verifying: the
 * payload carries the signing key ({@code key}) and, after rotations, the statements that link it
 * to the device's first key, whose hash is the device id. A verifier additionally pins the key it
 * has seen for the device (see {@link Appraiser}).
 *
 * @param protectedHeader the protected header's bytes ({@code {1: -8, 4: kid}})
 * @param claims          the decoded payload
 * @param payload         the payload's bytes as signed
 * @param signature       the 64-byte Ed25519 signature
 */
public record Report(byte[] protectedHeader, Claims claims, byte[] payload, byte[] signature) {

    /**
     * Decodes a report, or throws {@link MalformedReportException} (and nothing else) saying why the
     * bytes are not one. Bounded: at most {@link Limits#MAX_REPORT_BYTES} are read, nesting is
     * limited to {@link Limits#MAX_CBOR_DEPTH}, nothing larger than the input is allocated.
     */
    public static Report decode(byte[] bytes) throws MalformedReportException {
        try {
            var parts = CoseSign1.decode(bytes);
            var claims = Claims.decode(parts.payload());
            if (!Arrays.equals(parts.kid(), claims.device().kid())) {
                throw new MalformedReportException("kid " + Hex.encode(parts.kid()) + " is not the device id " + claims.device());
            }
            return new Report(parts.protectedHeader(), claims, parts.payload(), parts.signature());
        } catch (MalformedReportException e) {
            throw e;
        } catch (RuntimeException | StackOverflowError e) {
            // Defence in depth: the decoder is written not to throw anything else.
            throw new MalformedReportException("undecodable report (" + e.getClass().getSimpleName() + ")");
        }
    }

    /** The COSE parts, for verification with a given key. */
    public CoseSign1.Parts parts() {
        return new CoseSign1.Parts(protectedHeader, claims.device().kid(), payload, signature);
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
        return parts().verify(claims.key());
    }
}
