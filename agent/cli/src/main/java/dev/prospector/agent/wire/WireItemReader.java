package dev.prospector.agent.wire;

import dev.prospector.agent.wire.WireItem.Framing;
import dev.prospector.attest.Limits;
import dev.prospector.ledger.Attestation;
import dev.prospector.ledger.BlockHeader;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;

/**
 * Cuts a byte stream into the messages Prospector puts on MQTT, written back to back with nothing
 * between them as {@code mosquitto_sub -N} prints payloads. Every kind delimits itself, so its
 * first bytes say how to find its end:
 *
 * <ul>
 * <li>{@code "PLB1"}: a ledger block; its header gives the transaction count, hence the length.
 * <li>{@code "PLA1"}: a ledger attestation; fixed fields, then reason and detail after their lengths.
 * <li>{@code '{'}: a JSON object (a state message), ended by its matching brace outside strings.
 * <li>anything else: one CBOR data item (a report or receipt), whose heads give every length.
 * </ul>
 *
 * ASCII whitespace between items is skipped (no Prospector message starts with it), so payloads
 * that {@code mosquitto_sub} separates with newlines read as well.
 *
 * <p>Bounded: an item is read only up to the limit of its framing (constants below), every
 * declared length is checked against that limit before its bytes are read, and CBOR and JSON
 * nesting is followed to {@link #MAX_NESTING} levels; so a hostile stream costs at most one item's
 * limit of memory. Exactly the item's bytes are consumed, so a live stream yields each message as
 * soon as its last byte arrives.
 *
 * <p>Where an item's end cannot be found (truncated, not well-formed CBOR, over its limit) there is
 * no safe place to resume: {@link #next} throws {@link UnreadableItemException} and the rest of the
 * stream is not read.
 */
public final class WireItemReader {
    /** Largest CBOR item (report or receipt): the bound of attest's own decoders. */
    public static final int MAX_CBOR_BYTES = Limits.MAX_REPORT_BYTES;
    /** Largest JSON object: a state message is about 400 bytes. */
    public static final int MAX_JSON_BYTES = 16 * 1024;
    /**
     * Largest ledger block: the most transactions the ledger accepts in one block (about 15.7 MB).
     * A smaller bound would refuse real blocks: 10,000 transactions already take 1.57 MB.
     */
    public static final int MAX_BLOCK_BYTES = BlockHeader.blockSize(BlockHeader.MAX_TXS);
    /** Largest attestation its format can express: 255 bytes of reason and 65,535 of detail. */
    public static final int MAX_ATTESTATION_BYTES = Attestation.FIXED + 0xff + 2 + 0xffff + 64;
    /** Deepest CBOR or JSON nesting followed; a report needs 4 levels, a state message 1. */
    public static final int MAX_NESTING = 32;

    private static final byte[] BLOCK_MAGIC = "PLB1".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ATTESTATION_MAGIC = "PLA1".getBytes(StandardCharsets.US_ASCII);
    /** Buffer between the stream and the items. */
    private static final int BUFFER = 64 * 1024;

    private final PushbackInputStream in;
    private long position;
    private int count;

    /** Reads from {@code in}, which stays open: the caller owns it. */
    public WireItemReader(InputStream in) {
        this.in = new PushbackInputStream(new BufferedInputStream(in, BUFFER), BLOCK_MAGIC.length - 1);
    }

    /** The next item, or empty at the end of the stream (after whitespace, if any). */
    public Optional<WireItem> next() throws IOException, UnreadableItemException {
        int first;
        do {
            first = in.read();
            if (first < 0) {
                return Optional.empty();
            }
            position++;
        } while (first == ' ' || first == '\n' || first == '\r' || first == '\t');
        long offset = position - 1;
        int number = ++count;
        Framing framing = first == '{' ? Framing.JSON : first == 'P' ? magic() : Framing.CBOR;
        Item item = new Item(number, offset, framing, first);
        switch (framing) {
            case JSON -> json(item);
            case BLOCK -> block(item);
            case ATTESTATION -> attestation(item);
            case CBOR -> cborFrom(item, first, 0);
        }
        return Optional.of(new WireItem(number, offset, framing, item.bytes()));
    }

    /** After a 'P': the ledger format its magic names, or CBOR (a 16-byte string) with the bytes put back. */
    private Framing magic() throws IOException {
        byte[] rest = new byte[BLOCK_MAGIC.length - 1];
        int n = in.readNBytes(rest, 0, rest.length);
        if (n == rest.length && Arrays.equals(rest, 0, n, BLOCK_MAGIC, 1, BLOCK_MAGIC.length)) {
            position += n;
            return Framing.BLOCK;
        }
        if (n == rest.length && Arrays.equals(rest, 0, n, ATTESTATION_MAGIC, 1, ATTESTATION_MAGIC.length)) {
            position += n;
            return Framing.ATTESTATION;
        }
        in.unread(rest, 0, n);
        return Framing.CBOR;
    }

    private void block(Item item) throws IOException, UnreadableItemException {
        item.append(BLOCK_MAGIC, 1);
        item.take(BlockHeader.SIZE - BLOCK_MAGIC.length);
        int txs = item.intAt(BlockHeader.SIZE - 4);
        if (txs < 0 || txs > BlockHeader.MAX_TXS) {
            throw item.unreadable("its header declares " + Integer.toUnsignedString(txs)
                    + " transactions, more than the " + BlockHeader.MAX_TXS + " a block may carry");
        }
        item.take(BlockHeader.blockSize(txs) - BlockHeader.SIZE);
    }

    private void attestation(Item item) throws IOException, UnreadableItemException {
        item.append(ATTESTATION_MAGIC, 1);
        item.take(Attestation.FIXED - ATTESTATION_MAGIC.length);
        item.take(Byte.toUnsignedInt(item.data[Attestation.FIXED - 1]));
        item.take(2);
        int detail = (Byte.toUnsignedInt(item.data[item.size - 2]) << 8) | Byte.toUnsignedInt(item.data[item.size - 1]);
        item.take(detail + 64);
    }

    /** A JSON object: to the brace that closes the first, skipping strings (and escapes inside them). */
    private void json(Item item) throws IOException, UnreadableItemException {
        int depth = 1;
        boolean inString = false;
        boolean escaped = false;
        while (depth > 0) {
            int c = item.u8();
            if (inString) {
                if (escaped) {
                    escaped = false;
                } else if (c == '\\') {
                    escaped = true;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                if (++depth > MAX_NESTING) {
                    throw item.unreadable("JSON nested deeper than " + MAX_NESTING + " levels");
                }
            } else if (c == '}' || c == ']') {
                depth--;
            }
        }
    }

    /**
     * One CBOR data item whose initial byte {@code ib} is already read. Only well-formedness is
     * checked here (RFC 8949 appendix C), indefinite lengths included, so that an item of another
     * producer is skipped whole; whether it is a deterministic Prospector message is the decoder's
     * question.
     */
    private void cborFrom(Item item, int ib, int depth) throws IOException, UnreadableItemException {
        if (depth > MAX_NESTING) {
            throw item.unreadable("CBOR nested deeper than " + MAX_NESTING + " levels");
        }
        int major = ib >>> 5;
        int info = ib & 0x1f;
        if (info >= 28 && info <= 30) {
            throw item.unreadable(
                    "not well-formed CBOR: reserved additional information " + info + " at byte " + (item.size - 1));
        }
        if (info == 31) {
            indefinite(item, major, depth);
            return;
        }
        long arg = argument(item, info);
        switch (major) {
            case 2, 3 -> item.take(arg);
            case 4 -> {
                item.checkFits(arg); // every item takes at least one byte
                for (long i = 0; i < arg; i++) {
                    cborFrom(item, item.u8(), depth + 1);
                }
            }
            case 5 -> {
                item.checkFits(arg);
                item.checkFits(2 * arg); // arg is below the limit now, so this cannot overflow
                for (long i = 0; i < 2 * arg; i++) {
                    cborFrom(item, item.u8(), depth + 1);
                }
            }
            case 6 -> cborFrom(item, item.u8(), depth + 1);
            default -> {
                // 0, 1: integers; 7: simple values and floats, whose bytes argument() consumed.
            }
        }
    }

    private void indefinite(Item item, int major, int depth) throws IOException, UnreadableItemException {
        switch (major) {
            case 2, 3 -> {
                for (int c = item.u8(); c != 0xff; c = item.u8()) {
                    if (c >>> 5 != major || (c & 0x1f) >= 28) {
                        throw item.unreadable(
                                "not well-formed CBOR: a chunk of an indefinite string is not a definite string"
                                        + " of its type at byte " + (item.size - 1));
                    }
                    item.take(argument(item, c & 0x1f));
                }
            }
            case 4, 5 -> {
                int n = 0;
                for (int c = item.u8(); c != 0xff; c = item.u8(), n++) {
                    cborFrom(item, c, depth + 1);
                }
                if (major == 5 && n % 2 != 0) {
                    throw item.unreadable(
                            "not well-formed CBOR: an indefinite map ends after a key, at byte " + (item.size - 1));
                }
            }
            case 7 ->
                throw item.unreadable(
                        "not well-formed CBOR: a break outside an indefinite-length item at byte " + (item.size - 1));
            default ->
                throw item.unreadable(
                        "not well-formed CBOR: indefinite length on an integer or tag at byte " + (item.size - 1));
        }
    }

    private static long argument(Item item, int info) throws IOException, UnreadableItemException {
        if (info < 24) {
            return info;
        }
        long v = 0;
        for (int i = 0; i < 1 << (info - 24); i++) {
            v = (v << 8) | item.u8();
        }
        return v;
    }

    /** The bytes of the item being read, bounded by its framing's limit. */
    private final class Item {
        final int number;
        final long offset;
        final Framing framing;
        final int firstByte;
        final int limit;
        byte[] data = new byte[256];
        int size;

        Item(int number, long offset, Framing framing, int firstByte) {
            this.number = number;
            this.offset = offset;
            this.framing = framing;
            this.firstByte = firstByte;
            this.limit = switch (framing) {
                case CBOR -> MAX_CBOR_BYTES;
                case JSON -> MAX_JSON_BYTES;
                case BLOCK -> MAX_BLOCK_BYTES;
                case ATTESTATION -> MAX_ATTESTATION_BYTES;
            };
            data[size++] = (byte) firstByte;
        }

        int u8() throws IOException, UnreadableItemException {
            checkFits(1);
            int b = in.read();
            if (b < 0) {
                throw truncated();
            }
            position++;
            grow(size + 1);
            data[size++] = (byte) b;
            return b;
        }

        void append(byte[] bytes, int from) {
            grow(size + bytes.length - from);
            System.arraycopy(bytes, from, data, size, bytes.length - from);
            size += bytes.length - from;
        }

        /** Reads {@code n} more bytes (an unsigned CBOR argument, so possibly "negative"). */
        void take(long n) throws IOException, UnreadableItemException {
            checkFits(n);
            int end = size + (int) n;
            grow(end);
            while (size < end) {
                int r = in.read(data, size, end - size);
                if (r < 0) {
                    throw truncated();
                }
                size += r;
                position += r;
            }
        }

        void checkFits(long n) throws UnreadableItemException {
            if (n < 0 || n > limit - size) {
                throw unreadable("it is larger than the " + limit + "-byte limit for a " + limitName());
            }
        }

        int intAt(int off) {
            return ((data[off] & 0xff) << 24)
                    | ((data[off + 1] & 0xff) << 16)
                    | ((data[off + 2] & 0xff) << 8)
                    | (data[off + 3] & 0xff);
        }

        /**
         * At least {@code capacity} bytes, doubling for the many small reads of CBOR and JSON; a
         * block's transactions, whose length its header declares, get an array of exactly their
         * size at once, so that the largest block is held once, not copied while it grows.
         */
        private void grow(int capacity) {
            if (capacity > data.length) {
                data = Arrays.copyOf(data, Math.max(capacity, Math.min(limit, 2 * data.length)));
            }
        }

        /** The item's bytes; the buffer itself when it is exactly full. */
        byte[] bytes() {
            return size == data.length ? data : Arrays.copyOf(data, size);
        }

        private String limitName() {
            return switch (framing) {
                case CBOR -> "report or receipt";
                case JSON -> "state message";
                case BLOCK -> "ledger block";
                case ATTESTATION -> "ledger attestation";
            };
        }

        UnreadableItemException truncated() {
            return unreadable("the input ends inside it, after " + size + " bytes (truncated)");
        }

        UnreadableItemException unreadable(String reason) {
            return new UnreadableItemException(number, offset, WireItem.looksLike(framing, firstByte), reason);
        }
    }
}
