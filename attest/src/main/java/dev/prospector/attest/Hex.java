package dev.prospector.attest;

import java.util.HexFormat;

/** Lowercase hexadecimal, for logs, JSON and test vectors: {@link HexFormat} with the project's conventions. */
public final class Hex {
    private static final HexFormat HEX = HexFormat.of();

    private Hex() {}

    /** Two lowercase digits per byte, no separators. */
    public static String encode(byte[] bytes) {
        return HEX.formatHex(bytes);
    }

    /**
     * The bytes of {@code hex}: digits of either case; whitespace anywhere (the line breaks of a
     * test vector in a document) is ignored.
     *
     * @throws IllegalArgumentException for an odd number of digits or a character that is not one
     */
    public static byte[] decode(String hex) {
        return HEX.parseHex(hex.replaceAll("\\s", ""));
    }
}
