package dev.prospector.agent.verifier;

import dev.prospector.attest.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;

/**
 * The verifier's MQTT client id when none is given: {@code <prefix>-<16 random base32 characters>}
 * (80 bits), made once and kept in the state dir's {@code client-id} file (mode 0600), so that
 * the broker keeps one session for it across restarts. A client id that others can guess lets them
 * connect under it, which takes the session over (the broker disconnects the verifier and hands
 * its queued reports to them); a random one cannot be guessed. Without a state dir, each process
 * makes a new one (and its session is not resumed).
 */
public final class VerifierClientId {
    /** The file in the state dir. */
    public static final String FILE = "client-id";
    /** Random characters after the prefix. */
    static final int RANDOM_CHARS = 16;

    private static final char[] BASE32 = "abcdefghijklmnopqrstuvwxyz234567".toCharArray();
    private static final SecureRandom RANDOM = new SecureRandom();

    private VerifierClientId() {}

    /** A new random client id. */
    public static String random(String prefix) {
        var sb = new StringBuilder(prefix).append('-');
        for (int i = 0; i < RANDOM_CHARS; i++) {
            sb.append(BASE32[RANDOM.nextInt(BASE32.length)]);
        }
        return sb.toString();
    }

    /**
     * The client id kept in {@code file}, or a new random one written there first (atomically,
     * see {@link AtomicFiles}). A kept id is used as it is, whatever its prefix, so that a renamed
     * group does not orphan the session.
     *
     * @throws IOException when the file cannot be read or written, or does not hold a usable id
     */
    public static String loadOrCreate(Path file, String prefix) throws IOException {
        if (Files.exists(file)) {
            String id = Files.readString(file, StandardCharsets.US_ASCII).trim();
            if (id.isEmpty() || id.length() > 128 || !id.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
                throw new IOException(
                        "client id file " + file + " does not hold a client id (1-128 printable characters);"
                                + " delete it to make a new one (the broker's queued reports for the old id are then lost)");
            }
            return id;
        }
        String id = random(prefix);
        AtomicFiles.write(file, (id + "\n").getBytes(StandardCharsets.US_ASCII), AtomicFiles.OWNER_ONLY);
        return id;
    }
}
