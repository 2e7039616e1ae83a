package dev.prospector.agent.wire;

import com.upokecenter.cbor.CBORObject;
import com.upokecenter.cbor.CBORType;
import com.upokecenter.cbor.JSONOptions;
import dev.prospector.attest.Cbor;
import dev.prospector.attest.CoseSign1;
import dev.prospector.attest.DeviceId;
import dev.prospector.attest.Hex;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.ReceiptBatch;
import dev.prospector.attest.Report;
import dev.prospector.ledger.Attestation;
import dev.prospector.ledger.BlockSummary;
import dev.prospector.ledger.MalformedException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * One {@link WireItem} decoded as the kind of message Prospector puts on MQTT under
 * {@code prospector/v1/<fleet>/}: a report ({@code <device>/report}), a receipt
 * ({@code <device>/receipt}), a state message ({@code <device>/state}), a ledger block
 * ({@code ledger/<shard>/block}) or a ledger attestation ({@code ledger/<shard>/attest/<device>});
 * or {@link Undecodable}, saying what it is not and why. Decoding is the codecs' own
 * ({@link Report#decode}, {@link Receipt#decode}, {@link BlockSummary#of}, {@link Attestation#decode}),
 * so what is shown is what the agent and the verifier would read.
 */
public sealed interface WireMessage {
    WireItem item();

    /**
     * Empty when the message decoded and every signature checked verified; otherwise what is
     * wrong, completing a sentence about the message ("is …").
     */
    Optional<String> problem();

    /** A report; its signature is checked against the key it carries, as a verifier first does. */
    record ReportMessage(WireItem item, Report report, boolean signatureValid) implements WireMessage {
        @Override
        public Optional<String> problem() {
            return signatureValid ? Optional.empty() : Optional.of("is a report whose signature is invalid");
        }
    }

    /** How far a receipt's signature was checked. */
    enum ReceiptSignature {
        /** Signed, and the signature is by the verifier key given. */
        VALID,
        /** Signed, but not by the verifier key given. */
        INVALID,
        /** Signed; no verifier key was given to check it with. */
        NOT_CHECKED,
        /** A bare CBOR map, as verifiers sent receipts before they signed them. */
        UNSIGNED
    }

    /**
     * A receipt, signed (COSE_Sign1 by the verifier, {@code signer} its kid) or bare. An unsigned
     * receipt is a problem only when a verifier key was given: nothing then vouches for it.
     */
    record ReceiptMessage(
            WireItem item,
            Receipt receipt,
            Optional<String> signer,
            ReceiptSignature signature,
            boolean verifierKeyGiven)
            implements WireMessage {
        @Override
        public Optional<String> problem() {
            if (signature == ReceiptSignature.INVALID) {
                return Optional.of("is a receipt whose signature is not by the --verifier-key");
            }
            if (signature == ReceiptSignature.UNSIGNED && verifierKeyGiven) {
                return Optional.of("is an unsigned receipt, which the --verifier-key cannot vouch for");
            }
            return Optional.empty();
        }
    }

    /**
     * A device's retained state: the birth message ({@code online} true, with version, board,
     * model, key, config hash and time) or the offline one ({@code online} false, from a clean
     * shutdown or the last will). {@code fields} holds every member but {@code online} and
     * {@code device}, in order; {@code key} is the decoded base64 {@code key} member.
     */
    record StateMessage(
            WireItem item, boolean online, DeviceId device, Optional<byte[]> key, Map<String, CBORObject> fields)
            implements WireMessage {
        public StateMessage {
            fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
        }

        @Override
        public Optional<String> problem() {
            return Optional.empty();
        }
    }

    /** A ledger block, with what can be checked without its chain. */
    record BlockMessage(WireItem item, BlockSummary block) implements WireMessage {
        @Override
        public Optional<String> problem() {
            if (!block.signatureValid()) {
                return Optional.of("is a ledger block whose proposer signature is invalid");
            }
            if (!block.txRootMatches()) {
                return Optional.of("is a ledger block whose transaction root does not match its transactions");
            }
            if (block.invalidTxSignatures() > 0) {
                return Optional.of("is a ledger block with " + block.invalidTxSignatures()
                        + " transaction(s) whose signature is invalid");
            }
            return Optional.empty();
        }
    }

    /** A board's signed verdict on a block; the signing key is the device address it carries. */
    record AttestationMessage(WireItem item, Attestation attestation, boolean signatureValid) implements WireMessage {
        @Override
        public Optional<String> problem() {
            return signatureValid
                    ? Optional.empty()
                    : Optional.of("is a ledger attestation whose signature is invalid");
        }
    }

    /** An item that is not a valid message of the kind its first bytes promised ({@code looksLike}). */
    record Undecodable(WireItem item, String looksLike, String reason) implements WireMessage {
        @Override
        public Optional<String> problem() {
            return Optional.of("is not a valid Prospector " + looksLike + ": " + reason);
        }
    }

    /** Decodes {@code item}; receipts' signatures are checked when {@code verifierKey} (raw Ed25519) is given. */
    static WireMessage decode(WireItem item, Optional<byte[]> verifierKey) {
        try {
            return switch (item.framing()) {
                case CBOR -> cbor(item, verifierKey);
                case JSON -> state(item);
                case BLOCK -> new BlockMessage(item, BlockSummary.of(item.bytes()));
                case ATTESTATION -> {
                    Attestation a = Attestation.decode(item.bytes());
                    yield new AttestationMessage(item, a, a.verifySignature());
                }
            };
        } catch (MalformedException e) {
            return new Undecodable(item, item.looksLike(), e.getMessage());
        } catch (RuntimeException | StackOverflowError e) {
            // Defence in depth: the decoders are written to throw nothing else.
            return new Undecodable(
                    item, item.looksLike(), "undecodable (" + e.getClass().getSimpleName() + ")");
        }
    }

    private static WireMessage cbor(WireItem item, Optional<byte[]> verifierKey) {
        byte[] bytes = item.bytes();
        int first = bytes[0] & 0xff;
        if (first == WireItem.COSE_SIGN1_TAG) {
            return signed(item, verifierKey);
        }
        if (first >>> 5 == 5 && isBatchedReceipt(bytes)) {
            return batched(item, verifierKey);
        }
        if (first >>> 5 == 5) {
            try {
                return new ReceiptMessage(
                        item,
                        Receipt.decode(bytes),
                        Optional.empty(),
                        ReceiptSignature.UNSIGNED,
                        verifierKey.isPresent());
            } catch (MalformedReportException e) {
                return new Undecodable(item, "receipt", e.getMessage());
            }
        }
        return new Undecodable(item, item.looksLike(), "it is a CBOR " + cborType(first) + ", which none of them is");
    }

    /** Whether a CBOR map is a receipt signed in a batch ({@link ReceiptBatch}): it has a "root". */
    private static boolean isBatchedReceipt(byte[] bytes) {
        try {
            return Cbor.decode(bytes) instanceof Cbor.MapValue m
                    && m.get("root").isPresent();
        } catch (MalformedReportException e) {
            return false;
        }
    }

    /** A receipt signed in a batch: its path checked against the signed root, the root's signature as asked. */
    private static WireMessage batched(WireItem item, Optional<byte[]> verifierKey) {
        ReceiptBatch.Opened opened;
        Receipt receipt;
        try {
            opened = ReceiptBatch.open(item.bytes());
            receipt = opened.decode();
        } catch (MalformedReportException e) {
            return new Undecodable(item, "receipt", e.getMessage());
        }
        ReceiptSignature signature = verifierKey
                .map(k -> opened.signed().verify(k) ? ReceiptSignature.VALID : ReceiptSignature.INVALID)
                .orElse(ReceiptSignature.NOT_CHECKED);
        return new ReceiptMessage(
                item, receipt, Optional.of(kidText(opened.signed().kid())), signature, verifierKey.isPresent());
    }

    /** A COSE_Sign1: a report if it decodes as one, else a receipt if its payload is one (a map with "ok"). */
    private static WireMessage signed(WireItem item, Optional<byte[]> verifierKey) {
        MalformedReportException asReport;
        try {
            Report report = Report.decode(item.bytes());
            return new ReportMessage(item, report, report.verifySignature());
        } catch (MalformedReportException e) {
            asReport = e;
        }
        CoseSign1.Parts parts;
        try {
            parts = CoseSign1.decode(item.bytes());
        } catch (MalformedReportException e) {
            return new Undecodable(item, "report", asReport.getMessage());
        }
        if (!isReceiptPayload(parts.payload())) {
            return new Undecodable(item, "report", asReport.getMessage());
        }
        Receipt receipt;
        try {
            receipt = Receipt.decode(parts.payload());
        } catch (MalformedReportException e) {
            return new Undecodable(item, "receipt", e.getMessage());
        }
        ReceiptSignature signature = verifierKey
                .map(k -> parts.verify(k) ? ReceiptSignature.VALID : ReceiptSignature.INVALID)
                .orElse(ReceiptSignature.NOT_CHECKED);
        return new ReceiptMessage(item, receipt, Optional.of(kidText(parts.kid())), signature, verifierKey.isPresent());
    }

    private static boolean isReceiptPayload(byte[] payload) {
        try {
            return Cbor.decode(payload) instanceof Cbor.MapValue m
                    && m.get("ok").isPresent();
        } catch (MalformedReportException e) {
            return false;
        }
    }

    /** A kid as the text it is (verifiers name themselves by device id), or its hex when it is not printable ASCII. */
    private static String kidText(byte[] kid) {
        for (byte b : kid) {
            if (b < 0x21 || b > 0x7e) {
                return "0x" + Hex.encode(kid);
            }
        }
        return new String(kid, StandardCharsets.US_ASCII);
    }

    private static String cborType(int initialByte) {
        return switch (initialByte >>> 5) {
            case 0, 1 -> "integer";
            case 2 -> "byte string";
            case 3 -> "text string";
            case 4 -> "array";
            case 6 -> "tagged item (tag other than 18, COSE_Sign1)";
            default -> "simple value or float";
        };
    }

    private static WireMessage state(WireItem item) {
        String text;
        try {
            text = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(item.bytes()))
                    .toString();
        } catch (CharacterCodingException e) {
            return new Undecodable(item, "state message", "it is not UTF-8 text");
        }
        CBORObject json;
        try {
            json = CBORObject.FromJSONString(text, new JSONOptions("keepkeyorder=true"));
        } catch (RuntimeException e) {
            return new Undecodable(item, "state message", "it is not JSON (" + e.getMessage() + ")");
        }
        CBORObject online = json.get("online");
        CBORObject device = json.get("device");
        if (online == null || online.getType() != CBORType.Boolean) {
            return new Undecodable(item, "state message", "\"online\" is missing or not true/false");
        }
        if (device == null || device.getType() != CBORType.TextString || !DeviceId.isValid(device.AsString())) {
            return new Undecodable(item, "state message", "\"device\" is missing or not a device id");
        }
        // The key as the board sends it, in base64 ("key"), in hex ("key_hex"), or both, which must agree.
        Optional<byte[]> key = Optional.empty();
        CBORObject keyText = json.get("key");
        if (keyText != null) {
            byte[] raw = keyText.getType() == CBORType.TextString ? publicKey(keyText.AsString()) : null;
            if (raw == null) {
                return new Undecodable(
                        item,
                        "state message",
                        "\"key\" is neither the base64 nor the hex of a 32-byte Ed25519 public key");
            }
            key = Optional.of(raw);
        }
        CBORObject keyHex = json.get("key_hex");
        if (keyHex != null) {
            byte[] raw = keyHex.getType() == CBORType.TextString ? hexKey(keyHex.AsString()) : null;
            if (raw == null) {
                return new Undecodable(
                        item, "state message", "\"key_hex\" is not the hex of a 32-byte Ed25519 public key");
            }
            if (key.isPresent() && !Arrays.equals(key.get(), raw)) {
                return new Undecodable(item, "state message", "\"key_hex\" and \"key\" name different keys");
            }
            key = Optional.of(raw);
        }
        Map<String, CBORObject> fields = new LinkedHashMap<>();
        for (CBORObject k : json.getKeys()) {
            String name = k.AsString();
            if (!name.equals("online") && !name.equals("device")) {
                fields.put(name, json.get(k));
            }
        }
        return new StateMessage(item, online.isTrue(), new DeviceId(device.AsString()), key, fields);
    }

    /** A 32-byte public key from its hex (64 digits) or base64 form, or null. */
    private static byte[] publicKey(String s) {
        byte[] hex = hexKey(s);
        if (hex != null) {
            return hex;
        }
        try {
            byte[] raw = Base64.getDecoder().decode(s);
            return raw.length == 32 ? raw : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** A 32-byte public key from 64 hex digits, or null. */
    private static byte[] hexKey(String s) {
        return s.matches("[0-9a-fA-F]{64}") ? HexFormat.of().parseHex(s) : null;
    }
}
