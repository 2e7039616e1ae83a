package dev.prospector.agent.update;

import dev.prospector.agent.storage.StateDirLock;
import dev.prospector.attest.AtomicFiles;
import dev.prospector.attest.Sha256;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Optional;
import org.tinylog.Logger;

/**
 * The pushed configuration layer in the data dir: {@code config/current.conf} (in force),
 * {@code config/previous.conf} (what it replaced), {@code config/trial} (a push on probation) and
 * {@code config/outcome} (how the last probation ended, until its result is sent).
 *
 * <h2>Why in the data dir</h2>
 * The service runs with {@code ProtectSystem=strict}: {@code /etc} is read-only to it. The pushed
 * layer is read over {@code /etc/prospector/prospector.conf} by {@code prospector run}: a key in
 * {@code current.conf} wins over the same key in the file under {@code /etc}, and flags on the
 * command line win over both (docs/OPERATIONS.md, "Configuration pushes and updates").
 *
 * <h2>Crash and corruption safety</h2>
 * Every file is replaced whole ({@link AtomicFiles}: temporary file, fsync, rename, fsync of the
 * directory). A pushed file starts with a comment line carrying the SHA-256 of the rest: a file
 * that does not match it is damaged and {@link #layer(Path)} falls back to {@code previous.conf}
 * (if intact), else to no pushed layer, and says so in the log. Changes take the directory's lock
 * ({@link StateDirLock} on {@code config/}) and this object's monitor.
 */
public final class ConfigStore {
    public static final String DIR = "config";
    public static final String CURRENT = "current.conf";
    public static final String PREVIOUS = "previous.conf";
    static final String TRIAL = "trial";
    static final String OUTCOME = "outcome";
    /** Largest pushed configuration: far above any real one (a few dozen lines). */
    public static final int MAX_CONFIG_BYTES = 16 * 1024;

    private static final String HEADER = "# prospector pushed configuration; sha256=";

    private final Path dir;

    public ConfigStore(Path dataDir) {
        this.dir = dataDir.resolve(DIR);
    }

    public Path dir() {
        return dir;
    }

    /**
     * The pushed layer {@code prospector run} reads over the config file: {@code current.conf} when
     * intact, else {@code previous.conf} when intact (logged), else none. The text returned is the
     * pushed body, without the checksum line.
     */
    public static Optional<Layer> layer(Path dataDir) {
        Path dir = dataDir.resolve(DIR);
        Optional<String> current = readVerified(dir.resolve(CURRENT));
        if (current.isPresent()) {
            return Optional.of(new Layer(dir.resolve(CURRENT), current.get()));
        }
        if (Files.exists(dir.resolve(CURRENT))) {
            Optional<String> previous = readVerified(dir.resolve(PREVIOUS));
            Logger.error(
                    "pushed configuration {} is damaged: using {}",
                    dir.resolve(CURRENT),
                    previous.isPresent() ? dir.resolve(PREVIOUS) : "no pushed configuration");
            return previous.map(p -> new Layer(dir.resolve(PREVIOUS), p));
        }
        return Optional.empty();
    }

    /** A pushed configuration layer: where it was read and its text. */
    public record Layer(Path file, String text) {}

    /** The text of the pushed configuration in force, if any and intact. */
    public synchronized Optional<String> current() {
        return readVerified(dir.resolve(CURRENT));
    }

    /** The trial in progress, if any (a damaged trial file reads as none). */
    public synchronized Optional<Trial> trial() {
        return StateFile.read(dir.resolve(TRIAL)).flatMap(Trial::fromMap);
    }

    /**
     * Puts {@code text} in force on probation: {@code previous.conf} becomes what was in force
     * (nothing, when nothing was pushed before), {@code current.conf} the new text, and the trial is
     * recorded. The trial file is written first: a crash between the steps leaves a trial whose
     * rollback restores {@code previous.conf}, which is then still the old one.
     */
    public synchronized void stage(String text, Trial trial) throws IOException {
        byte[] body = text.getBytes(StandardCharsets.UTF_8);
        if (body.length > MAX_CONFIG_BYTES) {
            throw new IllegalArgumentException(
                    "a pushed configuration has at most " + MAX_CONFIG_BYTES + " bytes, this one " + body.length);
        }
        try (StateDirLock lock = lock()) {
            Path current = dir.resolve(CURRENT);
            Path previous = dir.resolve(PREVIOUS);
            if (Files.exists(dir.resolve(TRIAL))) {
                throw new IllegalStateException("a configuration push is already on trial");
            }
            Optional<String> old = readVerified(current);
            if (old.isPresent()) {
                writePushed(previous, old.get());
            } else {
                // Nothing intact was in force: the rollback removes the pushed layer.
                Files.deleteIfExists(previous);
                AtomicFiles.fsyncDirectory(dir);
            }
            StateFile.write(dir.resolve(TRIAL), trial.toMap());
            writePushed(current, text);
        }
    }

    /** Ends the trial: the pushed configuration stays. */
    public synchronized void confirm() throws IOException {
        try (StateDirLock lock = lock()) {
            Files.deleteIfExists(dir.resolve(TRIAL));
            AtomicFiles.fsyncDirectory(dir);
        }
    }

    /**
     * Puts the previous configuration back ({@code previous.conf}, or no pushed layer when there was
     * none) and records {@code outcome} for the next process to report; ends the trial.
     */
    public synchronized void rollback(Outcome outcome) throws IOException {
        try (StateDirLock lock = lock()) {
            StateFile.write(dir.resolve(OUTCOME), outcome.toMap());
            Path previous = dir.resolve(PREVIOUS);
            if (readVerified(previous).isPresent()) {
                AtomicFiles.write(dir.resolve(CURRENT), Files.readAllBytes(previous), AtomicFiles.OWNER_ONLY);
            } else {
                Files.deleteIfExists(dir.resolve(CURRENT));
            }
            Files.deleteIfExists(dir.resolve(TRIAL));
            AtomicFiles.fsyncDirectory(dir);
        }
    }

    /** Records how a trial ended, for the next result. */
    public synchronized void record(Outcome outcome) throws IOException {
        Files.createDirectories(dir);
        StateFile.write(dir.resolve(OUTCOME), outcome.toMap());
    }

    /** The outcome not yet reported, if any. */
    public synchronized Optional<Outcome> outcome() {
        return StateFile.read(dir.resolve(OUTCOME)).flatMap(Outcome::fromMap);
    }

    /** Forgets the outcome once its result is handed over. */
    public synchronized void reported() throws IOException {
        Files.deleteIfExists(dir.resolve(OUTCOME));
    }

    private StateDirLock lock() throws IOException {
        Files.createDirectories(dir);
        return StateDirLock.acquire(dir, "config dir");
    }

    private static void writePushed(Path file, String text) throws IOException {
        String body = text.endsWith("\n") || text.isEmpty() ? text : text + "\n";
        String sum = HexFormat.of().formatHex(Sha256.of(body.getBytes(StandardCharsets.UTF_8)));
        AtomicFiles.write(file, (HEADER + sum + "\n" + body).getBytes(StandardCharsets.UTF_8), AtomicFiles.OWNER_ONLY);
    }

    /** The body of a pushed file whose checksum line matches; empty when absent or damaged. */
    static Optional<String> readVerified(Path file) {
        try {
            if (Files.size(file) > MAX_CONFIG_BYTES + HEADER.length() + 66) {
                return Optional.empty();
            }
            String text = Files.readString(file, StandardCharsets.UTF_8);
            int nl = text.indexOf('\n');
            if (!text.startsWith(HEADER) || nl < 0) {
                return Optional.empty();
            }
            String sum = text.substring(HEADER.length(), nl).trim();
            String body = text.substring(nl + 1);
            String want = HexFormat.of().formatHex(Sha256.of(body.getBytes(StandardCharsets.UTF_8)));
            return want.equals(sum) ? Optional.of(body) : Optional.empty();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            Logger.error("cannot read pushed configuration {}: {}", file, e.getMessage());
            return Optional.empty();
        }
    }
}
