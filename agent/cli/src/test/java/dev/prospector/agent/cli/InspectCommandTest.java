package dev.prospector.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.agent.node.LedgerService;
import dev.prospector.agent.wire.WireItemReader;
import dev.prospector.attest.Appraiser;
import dev.prospector.attest.AppraiserConfig;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.ReasonCode;
import dev.prospector.attest.Receipt;
import dev.prospector.ledger.Address;
import dev.prospector.ledger.Attestation;
import dev.prospector.ledger.BlockHeader;
import dev.prospector.ledger.BlockVerdict;
import dev.prospector.ledger.InvalidReason;
import dev.prospector.ledger.Tx;
import dev.prospector.ledger.TxKind;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code prospector inspect FILE|-}: every kind of message Prospector puts on MQTT, made by the real
 * code, alone and back to back on stdin as {@code mosquitto_sub -N} prints them; and what is not a
 * message (garbage, truncation, oversized items) ends in one clear line.
 */
class InspectCommandTest {
    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {
        List<CBORObject> json() {
            return out.lines().map(CBORObject::FromJSONString).toList();
        }

        List<String> kinds() {
            return json().stream().map(o -> o.get("kind").AsString()).toList();
        }

        /** Exactly one line on stderr, naming {@code mustMention}, and no stack trace. */
        void assertOneErrorLine(String mustMention) {
            List<String> lines = err.lines().filter(l -> !l.isBlank()).toList();
            assertEquals(1, lines.size(), () -> "expected one line on stderr, got:\n" + err);
            assertTrue(lines.get(0).startsWith("prospector: "), lines.get(0));
            assertTrue(lines.get(0).contains(mustMention), () -> "'" + mustMention + "' not in: " + lines.get(0));
            assertFalse(err.contains("\tat "), "no stack trace without --debug");
        }
    }

    /** Runs the command in this process with {@code stdin} as System.in. */
    static Run inspect(byte[] stdin, String... args) {
        return inspect(new ByteArrayInputStream(stdin), args);
    }

    static Run inspect(InputStream stdin, String... args) {
        InputStream saved = System.in;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] command = new String[args.length + 1];
        command[0] = "inspect";
        System.arraycopy(args, 0, command, 1, args.length);
        try {
            System.setIn(stdin);
            int exit = ProspectorCommand.execute(
                    command,
                    new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setIn(saved);
        }
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return b.toByteArray();
    }

    // ------------------------------------------------------------ messages made by the real code

    /** A report by {@code prospector keygen} and {@code prospector report --once}. */
    private byte[] report() throws Exception {
        Path keys = dir.resolve("board");
        if (!Files.exists(keys.resolve(DeviceKeys.PUBLIC_KEY_FILE))) {
            assertEquals(
                    0, CliTest.prospector("keygen", "--dir", keys.toString()).exit());
        }
        Path file = dir.resolve("report-" + System.nanoTime() + ".cbor");
        CliTest.Run made = CliTest.prospector(
                "report", "--once", "--key-dir", keys.toString(), "--out", file.toString(), "--board", "emulated");
        assertEquals(0, made.exit(), made.err());
        return Files.readAllBytes(file);
    }

    /** The verifier's receipt for {@code report}, as VerifierService makes it. */
    private static Receipt receiptFor(byte[] report) {
        AppraiserConfig config = AppraiserConfig.defaults().withFleet("default").withAllowEmulated(true);
        return Receipt.of(new Appraiser(config).appraise(report), report, config);
    }

    private final DeviceKeys verifierKeys = DeviceKeys.fromSeed(new byte[32]);

    private Path verifierPem(DeviceKeys keys) throws Exception {
        Path pem = dir.resolve("verifier-" + keys.deviceId() + ".pub");
        Files.writeString(pem, keys.publicPem());
        return pem;
    }

    /** A birth message of the shape AgentNode.publishBirth writes (the broker test below takes a real one). */
    private static byte[] birth(DeviceKeys keys) {
        return CBORObject.NewOrderedMap()
                .Add("online", true)
                .Add("device", keys.deviceId().value())
                .Add("version", "0.1.0")
                .Add("board", "emulated")
                .Add("model", "Emulated Raspberry Pi 4 Model B")
                .Add("key", Base64.getEncoder().encodeToString(keys.publicKey()))
                .Add("config", "ab".repeat(32))
                .Add("time", "2024-05-01T12:00:00Z")
                .ToJSONString()
                .getBytes(StandardCharsets.UTF_8);
    }

    private static final byte[] PROPOSER = new byte[32];
    private static final byte[] ALICE = new byte[32];

    static {
        Arrays.fill(PROPOSER, (byte) 7);
        Arrays.fill(ALICE, (byte) 1);
    }

    /** A block of three transactions sealed by the proposer's tool, as {@code ledger gen} makes them. */
    private static byte[] block() {
        Address bob = Address.of(DeviceKeys.fromSeed(new byte[] {
                    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2
                })
                .publicKey());
        Tx[] txs = {
            Tx.sign(TxKind.TRANSFER, 0, ALICE, 0, bob, 10, 1),
            Tx.sign(TxKind.TRANSFER, 0, ALICE, 1, bob, 20, 1),
            Tx.sign(TxKind.STAKE, 0, ALICE, 2, null, 100, 1),
        };
        return BlockHeader.seal(0, 1, 1_714_564_800_000L, new byte[32], new byte[32], txs, PROPOSER);
    }

    /** A board's attestation of a block, signed as LedgerService signs it. */
    private static byte[] attestation(DeviceKeys board, boolean valid) {
        byte[] hash = new byte[32];
        Arrays.fill(hash, (byte) 9);
        BlockVerdict verdict = valid
                ? new BlockVerdict.Valid(1, hash, new byte[32], new BlockVerdict.BlockTimings(3, 0, 0, 0))
                : new BlockVerdict.Invalid(1, hash, InvalidReason.WRONG_PARENT, "parent is not the head");
        return Attestation.sign(0, verdict, new byte[32], LedgerService.signer(board))
                .encode();
    }

    // ------------------------------------------------------------ each kind

    @Test
    void aReportOnStdinShowsItsClaimsAndAValidSignature() throws Exception {
        byte[] report = report();
        Run run = inspect(report, "-");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().startsWith("message 1, byte 0 (" + report.length + " bytes): report"), run.out());
        assertTrue(
                run.out()
                        .contains(
                                DeviceKeys.load(dir.resolve("board")).deviceId().value()),
                run.out());
        assertTrue(run.out().strip().endsWith("signature: valid"), run.out());
    }

    @Test
    void aBareReceiptShowsItsOutcomeAndThatItIsUnsigned() throws Exception {
        Receipt receipt = receiptFor(report());
        Run run = inspect(receipt.encode(), "-");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("receipt (unsigned)"), run.out());
        assertTrue(run.out().contains("accepted"), run.out());
        assertTrue(run.out().strip().endsWith("signature: none (unsigned receipt)"), run.out());
    }

    @Test
    void aSignedReceiptNamesItsSignerAndIsCheckedOnlyAgainstAVerifierKey() throws Exception {
        byte[] signed = receiptFor(report()).sign(verifierKeys);

        Run unchecked = inspect(signed, "-");
        assertEquals(0, unchecked.exit(), unchecked.err());
        assertTrue(
                unchecked.out().contains("signer")
                        && unchecked.out().contains(verifierKeys.deviceId().value()),
                unchecked.out());
        assertTrue(unchecked.out().strip().endsWith("signature: not checked (no --verifier-key)"), unchecked.out());

        Run valid = inspect(signed, "--verifier-key", verifierPem(verifierKeys).toString(), "-");
        assertEquals(0, valid.exit(), valid.err());
        assertTrue(valid.out().strip().endsWith("signature: valid"), valid.out());

        DeviceKeys someoneElse = DeviceKeys.fromSeed(new byte[] {
            5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5
        });
        Run invalid = inspect(signed, "--verifier-key", verifierPem(someoneElse).toString(), "-");
        assertEquals(ExitCodes.CHECK_FAILED, invalid.exit());
        assertTrue(invalid.out().contains("signature: invalid"), invalid.out());
        invalid.assertOneErrorLine("signature is not by the --verifier-key");
    }

    @Test
    void aReceiptSignedInABatchIsShownAndCheckedAgainstItsRoot() throws Exception {
        Receipt mine = receiptFor(report());
        byte[] batched = dev.prospector.attest.ReceiptBatch.sign(List.of(mine, mine, mine), verifierKeys)
                .get(1);

        Run valid = inspect(batched, "--verifier-key", verifierPem(verifierKeys).toString(), "-");
        assertEquals(0, valid.exit(), valid.err());
        assertTrue(valid.out().contains(verifierKeys.deviceId().value()), valid.out());
        assertTrue(valid.out().strip().endsWith("signature: valid"), valid.out());

        DeviceKeys someoneElse = DeviceKeys.fromSeed(new byte[] {
            6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6
        });
        Run invalid =
                inspect(batched, "--verifier-key", verifierPem(someoneElse).toString(), "-");
        assertEquals(ExitCodes.CHECK_FAILED, invalid.exit());
        invalid.assertOneErrorLine("signature is not by the --verifier-key");

        // One bit of the receipt changed: it no longer hashes to its leaf, so it is not under the root.
        byte[] tampered = batched.clone();
        byte[] receiptBytes = mine.encode();
        int at = indexOf(tampered, receiptBytes);
        assertTrue(at > 0, "the receipt's bytes are in the message");
        tampered[at + receiptBytes.length - 3] ^= 1;
        Run broken = inspect(tampered, "-");
        assertTrue(broken.exit() != 0, broken.out());
        assertTrue(broken.err().contains("not under its signed root"), broken.err());
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Test
    void anUnsignedReceiptFailsWhenAVerifierKeyWasGiven() throws Exception {
        Run run = inspect(
                receiptFor(report()).encode(),
                "--verifier-key",
                verifierPem(verifierKeys).toString(),
                "-");
        assertEquals(ExitCodes.CHECK_FAILED, run.exit());
        run.assertOneErrorLine("unsigned receipt");
    }

    @Test
    void aReceiptDetailWithANewlineAndEscPrintsThemEscaped() {
        Receipt forged = new Receipt(
                false,
                Optional.of(ReasonCode.STALE),
                "late\nsignature: valid\u001b[2J",
                Optional.empty(),
                OptionalLong.of(3),
                false,
                0,
                false,
                new byte[32],
                Instant.EPOCH,
                Duration.ofMinutes(5));
        Run run = inspect(forged.encode(), "-");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("late\\nsignature: valid\\x1b[2J"), run.out());
        assertFalse(run.out().contains("\u001b"), "no ESC reaches the terminal");
        assertFalse(run.out().lines().anyMatch(l -> l.equals("signature: valid")), "no forged verdict line");
    }

    @Test
    void aStateMessageShowsItsKeyInHexAndBase64() {
        DeviceKeys board = DeviceKeys.fromSeed(new byte[] {
            3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3
        });
        Run run = inspect(birth(board), "-");
        assertEquals(0, run.exit(), run.err());
        String hex = HexFormat.of().formatHex(board.publicKey());
        assertTrue(run.out().contains("state (online)"), run.out());
        assertTrue(
                run.out().contains(hex + " (base64 " + Base64.getEncoder().encodeToString(board.publicKey()) + ")"),
                run.out());
        assertTrue(run.out().contains("emulated"), run.out());

        CBORObject json = inspect(birth(board), "--json", "-").json().get(0);
        assertEquals("state", json.get("kind").AsString());
        assertEquals(hex, json.get("key_hex").AsString());
        assertEquals(board.deviceId().value(), json.get("device").AsString());
    }

    @Test
    void aStateMessageWithItsKeyInHexAsWellOrOnlyShowsItOnce() {
        DeviceKeys board = DeviceKeys.fromSeed(new byte[32]);
        String hex = HexFormat.of().formatHex(board.publicKey());
        String base64 = Base64.getEncoder().encodeToString(board.publicKey());
        // The birth as the agent may send it: "key" in base64 and "key_hex", or "key" in hex.
        for (String fields : List.of(
                "\"key\":\"" + base64 + "\",\"key_hex\":\"" + hex + "\"",
                "\"key\":\"" + hex + "\"",
                "\"key_hex\":\"" + hex + "\"")) {
            byte[] birth = ("{\"online\":true,\"device\":\"" + board.deviceId() + "\"," + fields + "}")
                    .getBytes(StandardCharsets.UTF_8);
            Run run = inspect(birth, "-");
            assertEquals(0, run.exit(), fields + ": " + run.err() + run.out());
            assertEquals(1, run.out().lines().filter(l -> l.contains(hex)).count(), run.out());
            assertTrue(run.out().contains(hex + " (base64 " + base64 + ")"), run.out());

            Run json = inspect(birth, "--json", "-");
            assertEquals(0, json.exit(), fields + ": " + json.err());
            assertEquals(hex, json.json().get(0).get("key_hex").AsString(), json.out());
        }
        byte[] mismatch = ("{\"online\":true,\"device\":\"" + board.deviceId() + "\",\"key\":\"" + base64
                        + "\",\"key_hex\":\"" + "00".repeat(32) + "\"}")
                .getBytes(StandardCharsets.UTF_8);
        Run run = inspect(mismatch, "-");
        assertEquals(ExitCodes.CHECK_FAILED, run.exit());
        assertTrue(run.out().contains("\"key_hex\" and \"key\" name different keys"), run.out());
    }

    @Test
    void anOfflineStateMessageIsOneOfItsKind() {
        byte[] death =
                ("{\"online\":false,\"device\":\"" + verifierKeys.deviceId() + "\"}").getBytes(StandardCharsets.UTF_8);
        Run run = inspect(death, "-");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("state (offline)"), run.out());
    }

    @Test
    void aLedgerBlockShowsItsHeaderAndItsSignaturesHold() {
        byte[] block = block();
        Run run = inspect(block, "-");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("ledger block"), run.out());
        assertTrue(run.out().contains("3 (transfer 2, stake 1)"), run.out());
        assertTrue(run.out().contains("(matches the transactions)"), run.out());
        assertTrue(run.out().contains("all valid"), run.out());
        assertTrue(run.out().strip().endsWith("signature: valid"), run.out());

        CBORObject json = inspect(block, "--json", "-").json().get(0);
        assertEquals("block", json.get("kind").AsString());
        assertEquals(1, json.get("height").AsInt32Value());
        assertEquals(3, json.get("txs").AsInt32Value());
    }

    @Test
    void aBlockWithATamperedTransactionFails() {
        byte[] block = block();
        block[BlockHeader.SIZE + Tx.SIZE + 80] ^= 1; // the second transaction's amount
        Run run = inspect(block, "-");
        assertEquals(ExitCodes.CHECK_FAILED, run.exit());
        assertTrue(run.out().contains("does NOT match the transactions"), run.out());
        assertTrue(run.out().contains("1 invalid, the first in transaction 1"), run.out());
        run.assertOneErrorLine("transaction root does not match");
    }

    @Test
    void anAttestationShowsItsVerdictAndItsSignature() {
        DeviceKeys board = DeviceKeys.fromSeed(new byte[] {
            4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4
        });
        Run run = inspect(attestation(board, false), "-");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("ledger attestation"), run.out());
        assertTrue(run.out().contains("invalid: wrong-parent (parent is not the head)"), run.out());
        assertTrue(run.out().contains(HexFormat.of().formatHex(board.publicKey())), run.out());
        assertTrue(run.out().strip().endsWith("signature: valid"), run.out());

        byte[] forged = attestation(board, true);
        forged[20] ^= 1; // inside the block hash
        Run bad = inspect(forged, "-");
        assertEquals(ExitCodes.CHECK_FAILED, bad.exit());
        bad.assertOneErrorLine("attestation whose signature is invalid");
    }

    // ------------------------------------------------------------ streams

    @Test
    void everyKindBackToBackOnStdinDecodesInOrderOneJsonObjectPerLine() throws Exception {
        byte[] report = report();
        Receipt receipt = receiptFor(report);
        DeviceKeys board = DeviceKeys.load(dir.resolve("board"));
        byte[] stream = concat(
                report,
                birth(board),
                receipt.sign(verifierKeys),
                block(),
                attestation(board, true),
                receipt.encode(),
                report());

        Run json = inspect(
                stream, "--json", "--verifier-key", verifierPem(verifierKeys).toString(), "-");
        assertEquals(ExitCodes.CHECK_FAILED, json.exit(), "the unsigned receipt cannot be vouched for");
        assertEquals(List.of("report", "state", "receipt", "block", "attestation", "receipt", "report"), json.kinds());
        List<CBORObject> objects = json.json();
        assertEquals("valid", objects.get(0).get("signature").AsString());
        assertEquals(1, objects.get(0).get("seq").AsInt32Value());
        assertEquals("valid", objects.get(2).get("signature").AsString());
        assertEquals("none", objects.get(5).get("signature").AsString());
        assertEquals(2, objects.get(6).get("seq").AsInt32Value());
        long offset = 0;
        for (CBORObject o : objects) {
            assertEquals(offset, o.get("offset").AsInt64Value(), "items start where the previous one ended");
            offset += o.get("bytes").AsInt64Value();
        }
        assertEquals(stream.length, offset);
        json.assertOneErrorLine("stdin: message 6 (byte ");

        Run text = inspect(stream, "-");
        assertEquals(0, text.exit(), text.err());
        assertEquals(7, text.out().lines().filter(l -> l.startsWith("message ")).count(), text.out());
    }

    @Test
    void aFileHoldsAStreamToo() throws Exception {
        Path file = dir.resolve("captured.bin");
        Files.write(file, concat(report(), birth(verifierKeys)));
        Run run = inspect(new byte[0], "--json", file.toString());
        assertEquals(0, run.exit(), run.err());
        assertEquals(List.of("report", "state"), run.kinds());
    }

    @Test
    void payloadsSeparatedByNewlinesReadAsWell() throws Exception {
        byte[] newline = {'\n'};
        Run run = inspect(concat(report(), newline, birth(verifierKeys), newline, block(), newline), "--json", "-");
        assertEquals(0, run.exit(), run.err());
        assertEquals(List.of("report", "state", "block"), run.kinds());
    }

    @Test
    void anItemThatIsNoMessageIsOneLineAndTheStreamGoesOn() throws Exception {
        byte[] notAMessage = {(byte) 0x83, 1, 2, 3}; // the CBOR array [1, 2, 3]
        byte[] notAState = "{\"hello\":\"world\"}".getBytes(StandardCharsets.UTF_8);
        Run run = inspect(concat(notAMessage, report(), notAState, block()), "-");
        assertEquals(ExitCodes.CHECK_FAILED, run.exit());
        List<String> headings =
                run.out().lines().filter(l -> l.startsWith("message ")).toList();
        assertEquals(4, headings.size(), run.out());
        assertEquals(
                "message 1, byte 0 (4 bytes): not a valid Prospector report, receipt, state message, ledger block or "
                        + "ledger attestation: it is a CBOR array, which none of them is",
                headings.get(0));
        assertTrue(headings.get(1).endsWith("report"), headings.get(1));
        assertTrue(
                headings.get(2).contains("not a valid Prospector state message: \"online\" is missing"),
                headings.get(2));
        assertTrue(headings.get(3).endsWith("ledger block"), headings.get(3));
        run.assertOneErrorLine("stdin: message 1 (byte 0) is not a valid Prospector report, receipt");
        assertTrue(run.err().contains("(and 1 more problem(s), shown above)"), run.err());
    }

    @Test
    void cborOfOtherProducersIsSkippedWholeIndefiniteLengthsIncluded() throws Exception {
        byte[] indefinite = {(byte) 0x9f, 0x01, (byte) 0x7f, 0x61, 'a', (byte) 0xff, (byte) 0xff}; // [_ 1, (_ "a")]
        byte[] startsWithP = new byte[17]; // a 16-byte string whose first byte, 0x50, is ASCII 'P'
        startsWithP[0] = 'P';
        startsWithP[1] = 'L';
        Run run = inspect(concat(indefinite, startsWithP, report()), "--json", "-");
        assertEquals(List.of("unknown", "unknown", "report"), run.kinds(), run.out());
        assertEquals(7, run.json().get(0).get("bytes").AsInt32Value());
        assertEquals(17, run.json().get(1).get("bytes").AsInt32Value());
        assertEquals("valid", run.json().get(2).get("signature").AsString());
    }

    @Test
    void garbageStopsTheStreamWithOneLineAndNoStackTrace() throws Exception {
        byte[] report = report();
        byte[] garbage = {(byte) 0xfc, 0x00, 0x41}; // reserved additional information 28: not well-formed CBOR
        Run run = inspect(concat(report, garbage, report()), "--json", "-");
        assertEquals(ExitCodes.CHECK_FAILED, run.exit());
        assertEquals(List.of("report", "unreadable"), run.kinds());
        run.assertOneErrorLine("stdin: message 2 (byte " + report.length + ") is not a valid Prospector");
        assertTrue(run.err().contains("not well-formed CBOR"), run.err());

        Run debug = inspect(concat(report, garbage), "--debug", "-");
        assertTrue(debug.err().contains("\tat "), "--debug shows the stack trace");
    }

    @Test
    void aTruncatedReportIsOneClearLine() throws Exception {
        byte[] report = report();
        Run run = inspect(Arrays.copyOf(report, report.length / 2), "-");
        assertEquals(ExitCodes.CHECK_FAILED, run.exit());
        run.assertOneErrorLine("stdin is not a valid Prospector report: the input ends inside it");
    }

    @Test
    void anOversizedItemIsRefusedWithoutReadingIt() {
        byte[] hugeString = {0x5a, 0x10, 0x00, 0x00, 0x00, 1, 2, 3}; // a byte string that declares 256 MiB
        Run cbor = inspect(hugeString, "-");
        assertEquals(ExitCodes.CHECK_FAILED, cbor.exit());
        cbor.assertOneErrorLine("larger than the " + WireItemReader.MAX_CBOR_BYTES + "-byte limit");

        byte[] block = block();
        block[BlockHeader.SIZE - 4] = 0x7f; // a transaction count far above the limit
        Run blocks = inspect(block, "-");
        assertEquals(ExitCodes.CHECK_FAILED, blocks.exit());
        blocks.assertOneErrorLine("more than the " + BlockHeader.MAX_TXS + " a block may carry");
    }

    @Test
    void anEndlessItemIsReadOnlyUpToItsLimit() {
        // A JSON string that never ends: reading must stop at the limit, not at the end of memory.
        InputStream endless = new InputStream() {
            private long n;

            @Override
            public int read() {
                return n++ < 7 ? "{\"a\":\"x".charAt((int) n - 1) : 'x';
            }
        };
        Run run = inspect(endless, "-");
        assertEquals(ExitCodes.CHECK_FAILED, run.exit());
        run.assertOneErrorLine("larger than the " + WireItemReader.MAX_JSON_BYTES + "-byte limit for a state message");
    }

    @Test
    void emptyStdinIsAnError() {
        Run run = inspect(new byte[0], "-");
        assertEquals(ExitCodes.CHECK_FAILED, run.exit());
        run.assertOneErrorLine("no message on stdin");
    }

    @Test
    void aVerifierKeyThatIsNoKeyIsOneLine() throws Exception {
        Path notAKey = dir.resolve("nokey.pem");
        Files.writeString(notAKey, "hello\n");
        Run run = inspect(new byte[0], "--verifier-key", notAKey.toString(), "-");
        assertEquals(ExitCodes.BAD_INPUT, run.exit());
        run.assertOneErrorLine("--verifier-key");
    }
}
