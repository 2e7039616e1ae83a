package dev.prospector.agent.wire;

/**
 * One item cut from a byte stream by {@link WireItemReader}: the {@code number}th (from 1), starting
 * at byte {@code offset} of the stream, framed as {@code framing}. The bytes are owned by the record.
 */
public record WireItem(int number, long offset, Framing framing, byte[] bytes) {
    /** What an item that fits no single kind by its first bytes is not. */
    public static final String ANY_KIND = "report, receipt, state message, ledger block or ledger attestation";

    /** CBOR initial byte of tag 18, COSE_Sign1: reports and signed receipts start with it. */
    static final int COSE_SIGN1_TAG = 0xd2;

    /**
     * What an item framed as {@code framing} whose first byte is {@code firstByte} can only be, as
     * in "… is not a valid Prospector {@code looksLike}".
     */
    public static String looksLike(Framing framing, int firstByte) {
        return switch (framing) {
            case BLOCK -> "ledger block";
            case ATTESTATION -> "ledger attestation";
            case JSON -> "state message";
            case CBOR -> firstByte == COSE_SIGN1_TAG ? "report" : firstByte >>> 5 == 5 ? "receipt" : ANY_KIND;
        };
    }

    /** What this item can only be, by its framing and first byte. */
    public String looksLike() {
        return looksLike(framing, bytes[0] & 0xff);
    }

    /** Its length in bytes. */
    public int length() {
        return bytes.length;
    }

    /** How an item's end was found; says nothing yet about whether it decodes. */
    public enum Framing {
        /** One CBOR data item: a report or a receipt, signed (COSE_Sign1) or a bare map. */
        CBOR,
        /** One JSON object: a device's state (birth or death) message. */
        JSON,
        /** A ledger block: "PLB1", a header that gives the transaction count, transactions, signature. */
        BLOCK,
        /** A ledger attestation: "PLA1", fixed fields, reason and detail with their lengths, signature. */
        ATTESTATION
    }
}
