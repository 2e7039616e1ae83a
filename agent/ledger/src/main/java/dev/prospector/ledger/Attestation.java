package dev.prospector.ledger;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * A device's signed verdict on one block, published on
 * {@code prospector/v1/<fleet>/ledger/<shard>/attest/<device>}. Fixed binary, big-endian:
 * <pre>
 *  0 "PLA1" | 4 shard u32 | 8 height u64 | 16 block hash 32 | 48 verdict u8 (1 valid, 0 invalid)
 * 49 state root 32 (after the block when valid, else the unchanged head's root) | 81 device 32
 * 113 reason length u8 | reason ASCII (empty when valid) | detail length u16 | detail UTF-8
 * | Ed25519 signature (64) by device over everything before it
 * </pre>
 * The device is the raw public key, so anyone can verify an attestation without a key directory.
 */
public record Attestation(
        int shard,
        long height,
        byte[] blockHash,
        boolean valid,
        byte[] stateRoot,
        Optional<InvalidReason> reason,
        String detail,
        Address device,
        byte[] signature) {
    static final byte[] MAGIC = "PLA1".getBytes(StandardCharsets.US_ASCII);
    /** Longest detail carried: keeps an attestation within one small MQTT packet. */
    public static final int MAX_DETAIL_BYTES = 512;
    /** Bytes before the reason: magic, shard, height, block hash, verdict, state root, device, reason length. */
    public static final int FIXED = 114;

    /** Builds and signs the attestation of a verdict. */
    public static Attestation sign(int shard, BlockVerdict verdict, byte[] rootAfter, AttestationSigner signer) {
        boolean ok = verdict instanceof BlockVerdict.Valid;
        Optional<InvalidReason> reason =
                verdict instanceof BlockVerdict.Invalid inv ? Optional.of(inv.reason()) : Optional.empty();
        String detail = verdict instanceof BlockVerdict.Invalid inv ? truncate(inv.detail()) : "";
        Attestation unsigned = new Attestation(
                shard,
                verdict.height(),
                verdict.blockHash(),
                ok,
                rootAfter,
                reason,
                detail,
                signer.device(),
                new byte[Ed25519.SIGNATURE_SIZE]);
        byte[] body = unsigned.body();
        return new Attestation(
                shard,
                verdict.height(),
                verdict.blockHash(),
                ok,
                rootAfter,
                reason,
                detail,
                signer.device(),
                signer.sign(body));
    }

    private static String truncate(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return b.length <= MAX_DETAIL_BYTES ? s : new String(b, 0, MAX_DETAIL_BYTES, StandardCharsets.UTF_8);
    }

    /** The MQTT topic for this attestation; {@code deviceId} as shown everywhere by attest/. */
    public static String topic(String fleet, int shard, String deviceId) {
        return "prospector/v1/" + fleet + "/ledger/" + shard + "/attest/" + deviceId;
    }

    /** The MQTT topic blocks of a shard arrive on. */
    public static String blockTopic(String fleet, int shard) {
        return "prospector/v1/" + fleet + "/ledger/" + shard + "/block";
    }

    private byte[] body() {
        byte[] r = reason.map(InvalidReason::code).orElse("").getBytes(StandardCharsets.US_ASCII);
        byte[] d = detail.getBytes(StandardCharsets.UTF_8);
        byte[] b = new byte[FIXED + r.length + 2 + d.length];
        System.arraycopy(MAGIC, 0, b, 0, 4);
        Bytes.putInt(b, 4, shard);
        Bytes.putLong(b, 8, height);
        System.arraycopy(blockHash, 0, b, 16, 32);
        b[48] = (byte) (valid ? 1 : 0);
        System.arraycopy(stateRoot, 0, b, 49, 32);
        System.arraycopy(device.raw(), 0, b, 81, 32);
        b[113] = (byte) r.length;
        System.arraycopy(r, 0, b, FIXED, r.length);
        int o = FIXED + r.length;
        b[o] = (byte) (d.length >>> 8);
        b[o + 1] = (byte) d.length;
        System.arraycopy(d, 0, b, o + 2, d.length);
        return b;
    }

    public byte[] encode() {
        byte[] body = body();
        byte[] b = Arrays.copyOf(body, body.length + Ed25519.SIGNATURE_SIZE);
        System.arraycopy(signature, 0, b, body.length, Ed25519.SIGNATURE_SIZE);
        return b;
    }

    public static Attestation decode(byte[] b) throws MalformedException {
        if (b.length < FIXED + 2 + Ed25519.SIGNATURE_SIZE || !Arrays.equals(b, 0, 4, MAGIC, 0, 4)) {
            throw new MalformedException("not an attestation: too short or no PLA1 magic");
        }
        int rl = Byte.toUnsignedInt(b[113]);
        int o = FIXED + rl;
        if (o + 2 > b.length) {
            throw new MalformedException("attestation reason runs past the end");
        }
        int dl = ((b[o] & 0xff) << 8) | (b[o + 1] & 0xff);
        if (o + 2 + dl + Ed25519.SIGNATURE_SIZE != b.length) {
            throw new MalformedException("attestation length does not match its fields");
        }
        String r = new String(b, FIXED, rl, StandardCharsets.US_ASCII);
        Optional<InvalidReason> reason;
        try {
            reason = r.isEmpty() ? Optional.empty() : Optional.of(InvalidReason.fromCode(r));
        } catch (IllegalArgumentException e) {
            throw new MalformedException(e.getMessage());
        }
        boolean valid = b[48] == 1;
        if (valid == reason.isPresent()) {
            throw new MalformedException("attestation verdict and reason disagree");
        }
        return new Attestation(
                Bytes.getInt(b, 4),
                Bytes.getLong(b, 8),
                Arrays.copyOfRange(b, 16, 48),
                valid,
                Arrays.copyOfRange(b, 49, 81),
                reason,
                new String(b, o + 2, dl, StandardCharsets.UTF_8),
                Address.of(b, 81),
                Arrays.copyOfRange(b, b.length - Ed25519.SIGNATURE_SIZE, b.length));
    }

    /** True when the device's signature covers this attestation. */
    public boolean verifySignature() {
        byte[] body = body();
        return Ed25519.verify(signature, 0, device.raw(), 0, body, 0, body.length);
    }

    @Override
    public String toString() {
        return "attestation shard " + shard + " height " + height + ": "
                + (valid
                        ? "valid, root " + Bytes.hex(stateRoot)
                        : "invalid, " + reason.map(InvalidReason::code).orElse("?") + " (" + detail + ")");
    }
}
