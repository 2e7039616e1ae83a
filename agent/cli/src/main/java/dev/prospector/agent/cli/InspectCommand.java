package dev.prospector.agent.cli;

import dev.prospector.agent.common.Failure;
import dev.prospector.agent.logging.SafeText;
import dev.prospector.agent.wire.UnreadableItemException;
import dev.prospector.agent.wire.WireItem;
import dev.prospector.agent.wire.WireItemReader;
import dev.prospector.agent.wire.WireMessage;
import dev.prospector.attest.DeviceKeys;
import dev.prospector.attest.KeyCustodyException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code prospector inspect FILE|-}: decodes every message in a file or on stdin, as Prospector
 * puts them on MQTT and as {@code mosquitto_sub -N} prints them (back to back), one block (or
 * with {@code --json} one line) per message as soon as it is read. The input is cut by
 * {@link WireItemReader}, each item decoded by {@link WireMessage}, printed by {@link InspectOutput}.
 * Exits 0 only when every message decoded and every signature checked verified; otherwise the
 * first problem is the error line.
 */
@Command(
        name = "inspect",
        mixinStandardHelpOptions = true,
        description = {
            "Decode messages from a file or stdin and check their signatures.",
            "Reads reports, receipts, state messages, ledger blocks and attestations written back to back, as "
                    + "`mosquitto_sub -N -t 'prospector/v1/FLEET/#'` prints them, and prints one block per message. "
                    + "Exits 0 only when every message decoded and every signature checked is valid."
        })
public final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(
            paramLabel = "FILE|-",
            description = "Messages to decode: a report written by `prospector report`, "
                    + "payloads saved from the broker, or - for stdin.")
    Path file;

    @Option(names = "--json", description = "Print one JSON object per message, one per line, with a `kind` field.")
    boolean json;

    @Option(
            names = "--verifier-key",
            paramLabel = "FILE",
            description = "The verifier's public key (PEM): receipts must be signed by it.")
    Path verifierKey;

    @Override
    public Integer call() {
        Optional<byte[]> key = Optional.ofNullable(verifierKey).map(InspectCommand::readKey);
        boolean stdin = file.toString().equals("-");
        String name = stdin ? "stdin" : file.toString();
        InspectOutput output = new InspectOutput(spec.commandLine().getOut(), json);
        Tally tally = new Tally();
        try (InputStream in = stdin ? nonClosing(System.in) : open(file)) {
            WireItemReader reader = new WireItemReader(in);
            for (Optional<WireItem> item = reader.next(); item.isPresent(); item = reader.next()) {
                WireMessage message = WireMessage.decode(item.get(), key);
                output.print(message);
                tally.add(item.get().number(), item.get().offset(), message.problem());
            }
        } catch (UnreadableItemException e) {
            output.print(e);
            tally.add(
                    e.number(),
                    e.offset(),
                    Optional.of("is not a valid Prospector " + e.looksLike() + ": " + e.getMessage()));
        } catch (IOException e) {
            throw new Failure("cannot read " + name + ": " + e.getMessage());
        }
        if (tally.messages == 0) {
            throw new Failure(
                    stdin ? "no message on stdin" : name + " is empty: is it the right file?",
                    Failure.Kind.CHECK_FAILED);
        }
        if (tally.problems > 0) {
            throw new Failure(tally.firstProblem(name), Failure.Kind.CHECK_FAILED);
        }
        return 0;
    }

    /** How many messages were read, how many have a problem, and the first problem and where it is. */
    private static final class Tally {
        int messages;
        int problems;
        private String first;
        private int firstNumber;
        private long firstOffset;

        void add(int number, long offset, Optional<String> problem) {
            messages++;
            if (problem.isPresent() && problems++ == 0) {
                first = problem.get();
                firstNumber = number;
                firstOffset = offset;
            }
        }

        /** The error line: where the first problem is (the file alone when it holds one message), and how many follow. */
        String firstProblem(String name) {
            String where = messages == 1 ? name : name + ": message " + firstNumber + " (byte " + firstOffset + ")";
            String more = problems == 1 ? "" : " (and " + (problems - 1) + " more problem(s), shown above)";
            return where + " " + SafeText.escape(first) + more;
        }
    }

    private static byte[] readKey(Path pem) {
        try {
            return DeviceKeys.readPublicKey(pem);
        } catch (KeyCustodyException e) {
            throw new Failure(
                    "--verifier-key: " + e.getMessage() + ": give the verifier's public key (PEM, BEGIN PUBLIC KEY)");
        }
    }

    private static InputStream open(Path file) {
        try {
            return Files.newInputStream(file);
        } catch (NoSuchFileException e) {
            throw new Failure(file + " does not exist: check the path");
        } catch (IOException e) {
            throw new Failure("cannot read " + file + ": " + e.getMessage());
        }
    }

    /** Stdin is not ours to close. */
    private static InputStream nonClosing(InputStream in) {
        return new FilterInputStream(in) {
            @Override
            public void close() {}
        };
    }
}
