package dev.prospector.attest;

/** A report as sent ({@code bytes}: tagged COSE_Sign1) and the claims it carries. */
public record SignedReport(byte[] bytes, Claims claims) {
    /** SHA-256 of the report's bytes: the next report's {@code prev}. */
    public byte[] hash() {
        return Sha256.of(bytes);
    }
}
