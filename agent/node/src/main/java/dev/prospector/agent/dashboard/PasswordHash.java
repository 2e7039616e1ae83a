package dev.prospector.agent.dashboard;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

/**
 * The dashboard password, stored as an Argon2id hash (RFC 9106, Bouncy Castle's implementation) in
 * the PHC string format: {@code $argon2id$v=19$m=7168,t=5,p=1$SALT$HASH} (unpadded base64). The
 * default cost is OWASP's lowest-memory Argon2id setting (7 MiB, 5 passes, 1 lane): a Pi Zero can
 * afford it per login, and it is only paid per login (a session cookie follows), never per page.
 * A stored hash asking for more than {@link #MAX_MEMORY_KIB} is refused, so a wrong config line
 * cannot make each login allocate the board's memory.
 */
public final class PasswordHash {
    static final int MEMORY_KIB = 7168;
    static final int ITERATIONS = 5;
    static final int LANES = 1;
    static final int MAX_MEMORY_KIB = 65536;
    static final int MAX_ITERATIONS = 20;
    private static final int SALT_BYTES = 16;
    private static final int HASH_BYTES = 32;
    private static final Pattern PHC = Pattern.compile(
            "\\$argon2id\\$v=19\\$m=(\\d{1,6}),t=(\\d{1,3}),p=(\\d{1,2})\\$([A-Za-z0-9+/]{16,64})\\$([A-Za-z0-9+/]{22,128})");

    private final int memoryKib;
    private final int iterations;
    private final int lanes;
    private final byte[] salt;
    private final byte[] hash;

    private PasswordHash(int memoryKib, int iterations, int lanes, byte[] salt, byte[] hash) {
        this.memoryKib = memoryKib;
        this.iterations = iterations;
        this.lanes = lanes;
        this.salt = salt;
        this.hash = hash;
    }

    /** A new hash of {@code password} with a fresh salt and the default cost. */
    public static String hash(char[] password) {
        byte[] salt = new byte[SALT_BYTES];
        new SecureRandom().nextBytes(salt);
        byte[] h = derive(password, salt, MEMORY_KIB, ITERATIONS, LANES, HASH_BYTES);
        Base64.Encoder e = Base64.getEncoder().withoutPadding();
        return "$argon2id$v=19$m=" + MEMORY_KIB + ",t=" + ITERATIONS + ",p=" + LANES + "$" + e.encodeToString(salt)
                + "$" + e.encodeToString(h);
    }

    /**
     * A stored hash.
     *
     * @throws IllegalArgumentException naming what is wrong, when {@code phc} is not an Argon2id
     *     hash this class wrote, or asks for an unreasonable cost
     */
    public static PasswordHash parse(String phc) {
        Matcher m = PHC.matcher(phc.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException(
                    "not an Argon2id password hash ($argon2id$v=19$m=…,t=…,p=…$salt$hash): make one with `prospector password`");
        }
        int mem = Integer.parseInt(m.group(1));
        int t = Integer.parseInt(m.group(2));
        int p = Integer.parseInt(m.group(3));
        if (mem < 8 * p || mem > MAX_MEMORY_KIB || t < 1 || t > MAX_ITERATIONS || p < 1 || p > 4) {
            throw new IllegalArgumentException("the password hash asks for m=" + mem + " KiB, t=" + t + ", p=" + p
                    + ": at most " + MAX_MEMORY_KIB + " KiB, " + MAX_ITERATIONS + " passes and 4 lanes");
        }
        Base64.Decoder d = Base64.getDecoder();
        return new PasswordHash(mem, t, p, d.decode(m.group(4)), d.decode(m.group(5)));
    }

    /** Whether {@code password} is the one hashed (compared in constant time). */
    public boolean matches(char[] password) {
        byte[] candidate = derive(password, salt, memoryKib, iterations, lanes, hash.length);
        try {
            return MessageDigest.isEqual(candidate, hash);
        } finally {
            Arrays.fill(candidate, (byte) 0);
        }
    }

    private static byte[] derive(char[] password, byte[] salt, int memoryKib, int iterations, int lanes, int length) {
        ByteBuffer encoded = StandardCharsets.UTF_8.encode(CharBuffer.wrap(password));
        byte[] pw = new byte[encoded.remaining()];
        encoded.get(pw);
        encoded.clear();
        while (encoded.hasRemaining()) {
            encoded.put((byte) 0); // the encoder's copy of the password
        }
        try {
            Argon2BytesGenerator g = new Argon2BytesGenerator();
            g.init(new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
                    .withVersion(Argon2Parameters.ARGON2_VERSION_13)
                    .withSalt(salt)
                    .withMemoryAsKB(memoryKib)
                    .withIterations(iterations)
                    .withParallelism(lanes)
                    .build());
            byte[] out = new byte[length];
            g.generateBytes(pw, out);
            return out;
        } finally {
            Arrays.fill(pw, (byte) 0);
        }
    }
}
