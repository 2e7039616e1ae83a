package dev.prospector.attest;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What the verifier tells a device (and its owner) about one report, published to
 * {@code prospector/v1/<fleet>/<device>/receipt}. Encoded as a deterministic CBOR map:
 *
 * <pre>
 * {"v": 1, "ok": bool, "reason": tstr (rejected only), "detail": tstr, "dev": tstr?, "seq": uint?,
 *  "dup": bool, "gap": uint, "restart": bool, "report": bstr(32), "at": uint ms, "window": uint ms,
 *  "challenge": bstr?, "challenge_ttl": uint ms?, "audit": uint?, "audit_deadline": uint ms?,
 *  "bw_test": true?, "pos": tstr?, "dq": tstr?}
 * </pre>
 *
 * {@code report} is SHA-256 of the report's bytes (so the device can match it to its outbox),
 * {@code at} the verifier's clock when it appraised, {@code window} its clock-skew window: with
 * them the device can tell that its own clock is off before its reports go stale (see
 * {@link ClockCheck}). {@code challenge} is a fresh challenge for the device (see
 * {@link ChallengeStore}): its next reports carry it as their {@code nonce} while it is younger than
 * {@code challenge_ttl}. What the verifier publishes is {@link #sign}: the encoding as the payload
 * of a tagged COSE_Sign1 signed by the verifier's own Ed25519 key ({@code kid} = that key's id), so
 * that nobody else who can publish on the broker can speak for it; a board checks it with
 * {@link #verify} against the verifier key it trusts. Under load a verifier signs receipts in
 * batches instead, one signature over many ({@link ReceiptBatch}); {@link #verify} takes both.
 */
public record Receipt(
        boolean ok,
        Optional<ReasonCode> reason,
        String detail,
        Optional<DeviceId> device,
        OptionalLong seq,
        boolean duplicate,
        long gap,
        boolean chainRestart,
        byte[] reportHash,
        Instant at,
        Duration window,
        Optional<Challenge> challenge,
        Optional<String> service,
        Optional<String> disqualified) {
    public static final int VERSION = 1;

    /**
     * A challenge for the device: the nonce to carry, how long after issue it may be answered, and
     * what else it asks (keys {@code audit}, {@code audit_deadline}, {@code bw_test}): a storage
     * audit of {@code auditLeaves} leaves to answer within {@code auditDeadline} of the receipt's
     * {@code at} (0 leaves: none), and a bandwidth test against the measurement endpoints.
     */
    public record Challenge(
            byte[] nonce, Duration ttl, int auditLeaves, Duration auditDeadline, boolean bandwidthTest) {
        public Challenge {
            if (nonce.length < 1 || nonce.length > Limits.MAX_NONCE_BYTES) {
                throw new IllegalArgumentException("a challenge nonce has 1 to " + Limits.MAX_NONCE_BYTES + " bytes");
            }
            if (auditLeaves < 0 || auditLeaves > Audit.MAX_LEAVES) {
                throw new IllegalArgumentException("an audit names 0 to " + Audit.MAX_LEAVES + " leaves");
            }
            if ((auditLeaves > 0) != (auditDeadline.toMillis() > 0)) {
                throw new IllegalArgumentException("an audit has a deadline, and only an audit");
            }
            nonce = nonce.clone();
            auditDeadline = Duration.ofMillis(auditDeadline.toMillis());
        }

        /** A challenge that asks for nothing but the nonce. */
        public Challenge(byte[] nonce, Duration ttl) {
            this(nonce, ttl, 0, Duration.ZERO, false);
        }

        /** This challenge with a storage audit of {@code leaves} leaves due within {@code deadline}. */
        public Challenge withAudit(int leaves, Duration deadline) {
            return new Challenge(nonce, ttl, leaves, deadline, bandwidthTest);
        }

        /** This challenge asking for a bandwidth test. */
        public Challenge withBandwidthTest() {
            return new Challenge(nonce, ttl, auditLeaves, auditDeadline, true);
        }

        @Override
        public byte[] nonce() {
            return nonce.clone();
        }
    }

    /** A receipt without proof-of-service notes. */
    public Receipt(
            boolean ok,
            Optional<ReasonCode> reason,
            String detail,
            Optional<DeviceId> device,
            OptionalLong seq,
            boolean duplicate,
            long gap,
            boolean chainRestart,
            byte[] reportHash,
            Instant at,
            Duration window,
            Optional<Challenge> challenge) {
        this(
                ok,
                reason,
                detail,
                device,
                seq,
                duplicate,
                gap,
                chainRestart,
                reportHash,
                at,
                window,
                challenge,
                Optional.empty(),
                Optional.empty());
    }

    /**
     * This receipt with what the verifier made of the report's proof-of-service evidence (key
     * {@code pos}, one sentence) and, when the device is disqualified for rewards, why (key
     * {@code dq}).
     */
    public Receipt withService(Optional<String> outcome, Optional<String> disqualifiedBecause) {
        return new Receipt(
                ok,
                reason,
                detail,
                device,
                seq,
                duplicate,
                gap,
                chainRestart,
                reportHash,
                at,
                window,
                challenge,
                outcome,
                disqualifiedBecause);
    }

    /** A receipt without a challenge. */
    public Receipt(
            boolean ok,
            Optional<ReasonCode> reason,
            String detail,
            Optional<DeviceId> device,
            OptionalLong seq,
            boolean duplicate,
            long gap,
            boolean chainRestart,
            byte[] reportHash,
            Instant at,
            Duration window) {
        this(ok, reason, detail, device, seq, duplicate, gap, chainRestart, reportHash, at, window, Optional.empty());
    }

    /** This receipt with {@code c} for the device to answer. */
    public Receipt withChallenge(Challenge c) {
        return new Receipt(
                ok,
                reason,
                detail,
                device,
                seq,
                duplicate,
                gap,
                chainRestart,
                reportHash,
                at,
                window,
                Optional.of(c),
                service,
                disqualified);
    }

    /** The receipt for {@code appraisal} of {@code reportBytes} by a verifier with {@code config}. */
    public static Receipt of(Appraisal appraisal, byte[] reportBytes, AppraiserConfig config) {
        Instant at = Instant.ofEpochMilli(config.clock().millis());
        byte[] hash = appraisal instanceof Appraisal.Accepted a ? a.reportHash() : Sha256.of(reportBytes);
        Duration window = Duration.ofMillis(config.clockSkewWindow().toMillis());
        if (appraisal instanceof Appraisal.Accepted a) {
            return new Receipt(
                    true,
                    Optional.empty(),
                    a.toString(),
                    Optional.of(a.device()),
                    OptionalLong.of(a.seq()),
                    a.duplicate(),
                    a.gap(),
                    a.chainRestart(),
                    hash,
                    at,
                    window);
        }
        var r = (Appraisal.Rejected) appraisal;
        return new Receipt(
                false, Optional.of(r.reason()), r.detail(), r.device(), r.seq(), false, 0, false, hash, at, window);
    }

    public byte[] encode() {
        var m = Cbor.map()
                .put("v", new Cbor.Int(VERSION))
                .put("ok", new Cbor.Bool(ok))
                .put("detail", new Cbor.Text(detail))
                .put("dup", new Cbor.Bool(duplicate))
                .put("gap", new Cbor.Int(gap))
                .put("restart", new Cbor.Bool(chainRestart))
                .put("report", new Cbor.Bytes(reportHash))
                .put("at", new Cbor.Int(at.toEpochMilli()))
                .put("window", new Cbor.Int(window.toMillis()));
        reason.ifPresent(r -> m.put("reason", new Cbor.Text(r.code())));
        device.ifPresent(d -> m.put("dev", new Cbor.Text(d.value())));
        seq.ifPresent(s -> m.put("seq", new Cbor.Int(s)));
        challenge.ifPresent(c -> {
            m.put("challenge", new Cbor.Bytes(c.nonce()))
                    .put("challenge_ttl", new Cbor.Int(c.ttl().toMillis()));
            if (c.auditLeaves() > 0) {
                m.put("audit", new Cbor.Int(c.auditLeaves()))
                        .put("audit_deadline", new Cbor.Int(c.auditDeadline().toMillis()));
            }
            if (c.bandwidthTest()) {
                m.put("bw_test", new Cbor.Bool(true));
            }
        });
        service.ifPresent(text -> m.put("pos", new Cbor.Text(text)));
        disqualified.ifPresent(text -> m.put("dq", new Cbor.Text(text)));
        return Cbor.encode(m.build());
    }

    public static Receipt decode(byte[] bytes) throws MalformedReportException {
        if (bytes.length > Limits.MAX_REPORT_BYTES) {
            throw new MalformedReportException("receipt larger than " + Limits.MAX_REPORT_BYTES + " bytes");
        }
        if (!(Cbor.decode(bytes) instanceof Cbor.MapValue m)) {
            throw new MalformedReportException("receipt is not a CBOR map");
        }
        if (Claims.uint(m, "v") != VERSION) {
            throw new MalformedReportException("unsupported receipt version");
        }
        Optional<ReasonCode> reason = Optional.empty();
        if (m.get("reason").isPresent()) {
            String code = Claims.text(m, "reason");
            reason = Optional.of(ReasonCode.fromCode(code)
                    .orElseThrow(() -> new MalformedReportException("unknown reason code " + code)));
        }
        Optional<DeviceId> device = Optional.empty();
        if (m.get("dev").isPresent()) {
            String d = Claims.text(m, "dev");
            if (!DeviceId.isValid(d)) {
                throw new MalformedReportException("receipt dev is not a device id");
            }
            device = Optional.of(new DeviceId(d));
        }
        OptionalLong seq = m.get("seq").isPresent() ? OptionalLong.of(Claims.uint(m, "seq")) : OptionalLong.empty();
        boolean ok = bool(m, "ok");
        if (ok == reason.isPresent()) {
            throw new MalformedReportException("receipt must carry a reason exactly when it is a rejection");
        }
        Optional<Challenge> challenge = Optional.empty();
        if (m.get("challenge").isPresent() != m.get("challenge_ttl").isPresent()) {
            throw new MalformedReportException("receipt must carry challenge and challenge_ttl together");
        }
        if (m.get("challenge").isPresent()) {
            int audit = m.get("audit").isPresent() ? (int) Math.min(Claims.uint(m, "audit"), Audit.MAX_LEAVES + 1L) : 0;
            Duration deadline = m.get("audit_deadline").isPresent()
                    ? Duration.ofMillis(Claims.uint(m, "audit_deadline"))
                    : Duration.ZERO;
            boolean bandwidth = m.get("bw_test").isPresent() && bool(m, "bw_test");
            try {
                challenge = Optional.of(new Challenge(
                        Claims.bytes(m, "challenge", 1, Limits.MAX_NONCE_BYTES),
                        Duration.ofMillis(Claims.uint(m, "challenge_ttl")),
                        audit,
                        deadline,
                        bandwidth));
            } catch (IllegalArgumentException | ArithmeticException e) {
                throw new MalformedReportException("receipt challenge: " + e.getMessage());
            }
        }
        Optional<String> service = m.get("pos").isPresent() ? Optional.of(Claims.text(m, "pos")) : Optional.empty();
        Optional<String> disqualified = m.get("dq").isPresent() ? Optional.of(Claims.text(m, "dq")) : Optional.empty();
        return new Receipt(
                ok,
                reason,
                Claims.text(m, "detail"),
                device,
                seq,
                bool(m, "dup"),
                Claims.uint(m, "gap"),
                bool(m, "restart"),
                Claims.bytes(m, "report", 32, 32),
                Instant.ofEpochMilli(Claims.uint(m, "at")),
                Duration.ofMillis(Claims.uint(m, "window")),
                challenge,
                service,
                disqualified);
    }

    private static boolean bool(Cbor.MapValue m, String key) throws MalformedReportException {
        if (!(m.get(key).orElse(null) instanceof Cbor.Bool b)) {
            throw new MalformedReportException("receipt " + key + " is missing or not a boolean");
        }
        return b.value();
    }

    /** The receipt as a tagged COSE_Sign1 signed by the verifier's key. */
    public byte[] sign(DeviceKeys verifierKeys) {
        return CoseSign1.sign(verifierKeys.deviceId().kid(), encode(), verifierKeys);
    }

    /**
     * Decodes a signed receipt, signed alone or in a batch ({@link ReceiptBatch}), checking it is
     * signed by {@code verifierPublicKey}.
     */
    public static Receipt verify(byte[] signed, byte[] verifierPublicKey) throws MalformedReportException {
        var opened = ReceiptBatch.open(signed);
        if (!opened.signed().verify(verifierPublicKey)) {
            throw new MalformedReportException("receipt is not signed by the verifier's key");
        }
        return opened.decode();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Receipt r && java.util.Arrays.equals(encode(), r.encode());
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(encode());
    }

    @Override
    public String toString() {
        return ok
                ? "receipt accepted: " + detail
                : "receipt rejected " + reason.map(ReasonCode::code).orElse("?") + ": " + detail;
    }
}
