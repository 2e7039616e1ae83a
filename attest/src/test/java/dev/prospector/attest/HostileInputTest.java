package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumSet;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.junit.jupiter.api.Test;

/**
 * Mutants of valid reports and hostile bytes: each is rejected with a typed reason, nothing else is
 * thrown, and decoding stays within bounded time and memory.
 */
class HostileInputTest {
    private static SignedReport valid;

    @BeforeContainer
    static void makeReport() {
        valid = Fixtures.signer().sign(Fixtures.input());
    }

    private static SignedReport valid() {
        if (valid == null) {
            makeReport();
        }
        return valid;
    }

    /** Appraised by a verifier that never saw the original, the mutant can only be malformed or forged. */
    private static void assertRejectedAsMalformedOrForged(byte[] mutant) {
        var a = Fixtures.appraiser().appraise(mutant);
        var r = assertInstanceOf(Appraisal.Rejected.class, a, () -> "mutant accepted: " + Hex.encode(mutant));
        assertTrue(EnumSet.of(ReasonCode.MALFORMED, ReasonCode.BAD_SIGNATURE).contains(r.reason()), r::toString);
        try {
            var decoded = Report.decode(mutant);
            assertTrue(!decoded.verifySignature(), "a decodable mutant must fail its signature");
        } catch (MalformedReportException expected) {
            // the typed rejection
        }
    }

    @Test
    void everySingleBitFlipIsRejected() {
        byte[] bytes = valid().bytes();
        for (int i = 0; i < bytes.length; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] m = bytes.clone();
                m[i] ^= (byte) (1 << bit);
                assertRejectedAsMalformedOrForged(m);
            }
        }
    }

    @Test
    void everyDroppedByteIsRejected() {
        byte[] bytes = valid().bytes();
        for (int i = 0; i < bytes.length; i++) {
            byte[] m = new byte[bytes.length - 1];
            System.arraycopy(bytes, 0, m, 0, i);
            System.arraycopy(bytes, i + 1, m, i, bytes.length - i - 1);
            assertRejectedAsMalformedOrForged(m);
        }
    }

    @Test
    void everyInsertedByteIsRejected() {
        byte[] bytes = valid().bytes();
        for (int i = 0; i <= bytes.length; i++) {
            for (int b : new int[] {0x00, 0x01, 0x18, 0x40, 0x60, 0x80, 0xa0, 0xf6, 0xff}) {
                byte[] m = new byte[bytes.length + 1];
                System.arraycopy(bytes, 0, m, 0, i);
                m[i] = (byte) b;
                System.arraycopy(bytes, i, m, i + 1, bytes.length - i);
                assertRejectedAsMalformedOrForged(m);
            }
        }
    }

    @Property(tries = 400)
    void randomMutationsAreRejected(@ForAll("mutants") byte[] mutant) {
        if (!Arrays.equals(mutant, valid().bytes())) {
            assertRejectedAsMalformedOrForged(mutant);
        }
    }

    @Provide
    Arbitrary<byte[]> mutants() {
        return Arbitraries.integers()
                .between(1, 6)
                .flatMap(n -> Arbitraries.longs().map(seed -> {
                    var rnd = new java.util.Random(seed);
                    byte[] b = valid().bytes().clone();
                    for (int k = 0; k < n; k++) {
                        int op = rnd.nextInt(3);
                        int pos = rnd.nextInt(b.length + (op == 2 ? 1 : 0));
                        if (op == 0 && b.length > 0) {
                            b[Math.min(pos, b.length - 1)] = (byte) rnd.nextInt(256);
                        } else if (op == 1 && b.length > 1) {
                            b = concat(
                                    Arrays.copyOfRange(b, 0, Math.min(pos, b.length - 1)),
                                    Arrays.copyOfRange(b, Math.min(pos, b.length - 1) + 1, b.length));
                        } else {
                            b = concat(
                                    concat(
                                            Arrays.copyOfRange(b, 0, Math.min(pos, b.length)),
                                            new byte[] {(byte) rnd.nextInt(256)}),
                                    Arrays.copyOfRange(b, Math.min(pos, b.length), b.length));
                        }
                    }
                    return b;
                }));
    }

    @Property(tries = 400)
    void theClaimsDecoderThrowsNothingButTheTypedRejection(@ForAll("payloadMutants") byte[] payload) {
        try {
            Claims.decode(payload);
        } catch (MalformedReportException expected) {
            // the typed rejection
        }
        // anything else (IllegalArgumentException, IndexOutOfBounds...) fails the property
    }

    @Provide
    Arbitrary<byte[]> payloadMutants() {
        byte[] payload = valid().claims().encode();
        return Arbitraries.integers()
                .between(0, payload.length - 1)
                .flatMap(pos -> Arbitraries.integers().between(0, 255).map(b -> {
                    byte[] m = payload.clone();
                    m[pos] = (byte) (int) b;
                    return m;
                }));
    }

    @Test
    void everySingleByteChangeOfThePayloadIsATypedRejectionOrAnotherValidPayload() {
        byte[] payload = valid().claims().encode();
        for (int i = 0; i < payload.length; i++) {
            for (int b = 0; b < 256; b += 7) {
                byte[] m = payload.clone();
                m[i] = (byte) b;
                try {
                    Claims.decode(m);
                } catch (MalformedReportException expected) {
                    // the typed rejection
                }
            }
        }
    }

    @Property(tries = 500)
    void randomBytesAreMalformed(@ForAll("randomBytes") byte[] bytes) {
        assertThrows(MalformedReportException.class, () -> Report.decode(bytes));
        assertInstanceOf(Appraisal.Rejected.class, Fixtures.appraiser().appraise(bytes));
    }

    @Provide
    Arbitrary<byte[]> randomBytes() {
        return Arbitraries.oneOf(
                Arbitraries.bytes().array(byte[].class).ofMaxSize(2000),
                // start like a report so that the decoder gets further in
                Arbitraries.bytes()
                        .array(byte[].class)
                        .ofMaxSize(600)
                        .map(b -> concat(new byte[] {(byte) 0xd2, (byte) 0x84}, b)));
    }

    @Test
    void deepNestingIsRejectedQuickly() {
        for (int lead : new int[] {0x81, 0xa1, 0xd2, 0x9f, 0xbf}) {
            byte[] deep = new byte[Limits.MAX_REPORT_BYTES];
            Arrays.fill(deep, (byte) lead);
            assertBounded(deep);
        }
    }

    @Test
    void hugeDeclaredLengthsAreRejectedWithoutAllocating() {
        String[] heads = {
            "5bffffffffffffffff",
            "5b7fffffffffffffff",
            "7b7fffffffffffffff",
            "9b7fffffffffffffff",
            "bb7fffffffffffffff",
            "5affffffff",
            "9affffffff",
            "baffffffff",
            "d2845affffffff",
            "d28443a1012741a05affffffff"
        };
        for (String h : heads) {
            assertBounded(Hex.decode(h));
            byte[] padded = Arrays.copyOf(Hex.decode(h), 4096);
            assertBounded(padded);
        }
    }

    @Test
    void anArrayOfManySmallItemsWithinTheSizeLimitDecodesInBoundedMemory() {
        byte[] many = new byte[Limits.MAX_REPORT_BYTES];
        many[0] = (byte) 0x99; // array of 65532 items, each 0x00
        many[1] = (byte) 0xff;
        many[2] = (byte) 0xfc;
        assertBounded(many);
    }

    @Test
    void oversizedInputIsRejectedBeforeParsing() {
        byte[] big = new byte[Limits.MAX_REPORT_BYTES + 1];
        big[0] = (byte) 0xd2;
        assertBounded(big);
    }

    /** Rejected as malformed within 1 s, allocating at most 64 times the input plus 1 MiB. */
    private static void assertBounded(byte[] input) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().getId();
        assertTimeoutPreemptively(Duration.ofSeconds(1), () -> {
            long before = threads.getThreadAllocatedBytes(Thread.currentThread().getId());
            assertThrows(MalformedReportException.class, () -> Report.decode(input));
            long used = threads.getThreadAllocatedBytes(Thread.currentThread().getId()) - before;
            assertTrue(
                    used < 64L * input.length + (1 << 20),
                    "allocated " + used + " bytes for " + input.length + " input bytes");
        });
        var a = Fixtures.appraiser().appraise(input);
        assertInstanceOf(Appraisal.Rejected.class, a);
        assertTrue(((Appraisal.Rejected) a).reason() == ReasonCode.MALFORMED, a::toString);
        assertTrue(tid >= 0);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
