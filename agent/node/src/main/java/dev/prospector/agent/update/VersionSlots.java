package dev.prospector.agent.update;

import dev.prospector.agent.storage.StateDirLock;
import dev.prospector.attest.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The program's versions in the data dir, A/B style: {@code versions/<version>/} holds a jar set
 * ({@code prospector.jar}, {@code lib/}); the symbolic links {@code versions/current} and
 * {@code versions/previous} name the version in use and the one before it. No {@code current}
 * link: the program the Debian package installed ({@code /usr/share/prospector}), or the source
 * tree's build, is in use; no {@code previous}: that one is what a rollback returns to. The
 * launchers ({@code prospector} in a source tree, {@code /usr/bin/prospector} from the package)
 * run {@code versions/current} when it names a directory with a {@code prospector.jar}.
 *
 * <h2>Trial</h2>
 * {@link #activate} moves the links and writes {@code versions/trial} (a {@link StateFile}); the
 * agent then restarts into the new version, which must prove itself (connected, first report
 * accepted) by the trial's deadline and then {@link #confirm()}s, else it {@link #rollback}s and
 * restarts. A version that cannot even start never gets that far: the launcher counts the starts
 * of a version on trial in {@code versions/trial.starts} and after {@link #MAX_TRIAL_STARTS} puts
 * {@code previous} back as {@code current} itself and renames the trial {@code trial.failed}
 * (Mender and RAUC do the same in the boot loader with a boot counter). The process that then
 * comes up reports that failure.
 *
 * <h2>Crash safety</h2>
 * A link is replaced by making the new link under a temporary name and renaming it over the old
 * one (atomic), then fsyncing the directory. A new version is unpacked under a temporary name and
 * renamed into place whole. Changes take the directory's lock and this object's monitor.
 */
public final class VersionSlots {
    public static final String DIR = "versions";
    public static final String CURRENT = "current";
    public static final String PREVIOUS = "previous";
    public static final String TRIAL = "trial";
    public static final String STARTS = "trial.starts";
    /** A trial the launcher ended by putting the previous version back (renamed from {@link #TRIAL}). */
    public static final String FAILED_TRIAL = "trial.failed";

    static final String OUTCOME = "outcome";
    /** Starts of a version on trial after which the launcher puts the previous one back. */
    public static final int MAX_TRIAL_STARTS = 3;
    /** The name the launchers export as {@code PROSPECTOR_SLOT} when they run a version from here. */
    public static final String SLOT_ENVIRONMENT = "PROSPECTOR_SLOT";
    /** What a version is called: it becomes a directory name. */
    public static final Pattern VERSION = Pattern.compile("[0-9A-Za-z][0-9A-Za-z._+~-]{0,63}");
    /** Names of the directory's own files, which no version may take. */
    private static final java.util.Set<String> RESERVED = java.util.Set.of(
            CURRENT, PREVIOUS, TRIAL, STARTS, FAILED_TRIAL, OUTCOME, StateDirLock.FILE, "download.part");

    /** The name of the installed package's (or source tree's) program, when no slot is in use. */
    public static final String PACKAGED = "packaged";

    private final Path dir;

    public VersionSlots(Path dataDir) {
        this.dir = dataDir.resolve(DIR);
    }

    public Path dir() {
        return dir;
    }

    /** Checks a version name; the message names the rule. */
    public static String requireVersion(String version) {
        if (!VERSION.matcher(version).matches() || RESERVED.contains(version)) {
            throw new IllegalArgumentException(
                    "version " + JarSetArchive.safe(version)
                            + " is not a version name: 1 to 64 of letters, digits and . _ + ~ -, starting with a letter or digit");
        }
        return version;
    }

    /** The version {@code current} names, or empty for the packaged program. */
    public synchronized Optional<String> current() {
        return link(CURRENT);
    }

    /** The version {@code previous} names, or empty for the packaged program. */
    public synchronized Optional<String> previous() {
        return link(PREVIOUS);
    }

    /** The trial in progress, if any. */
    public synchronized Optional<Trial> trial() {
        return StateFile.read(dir.resolve(TRIAL)).flatMap(Trial::fromMap);
    }

    /** A trial the launcher ended (the version did not start), not yet reported. */
    public synchronized Optional<Trial> failedTrial() {
        return StateFile.read(dir.resolve(FAILED_TRIAL)).flatMap(Trial::fromMap);
    }

    /** How often the launcher has started the version on trial (0 when it never counted). */
    public synchronized int trialStarts() {
        try {
            return Integer.parseInt(Files.readString(dir.resolve(STARTS)).trim());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /**
     * Unpacks a jar set ({@link JarSetArchive}) as {@code version}; a half-unpacked copy never
     * carries the version's name. Refuses to replace the version in use or the one kept for a
     * rollback.
     */
    public synchronized Path install(String version, Path archive) throws IOException {
        requireVersion(version);
        try (StateDirLock lock = lock()) {
            if (link(CURRENT).filter(version::equals).isPresent()
                    || link(PREVIOUS).filter(version::equals).isPresent()) {
                throw new IllegalStateException(
                        "version " + version + " is the one in use or kept for a rollback: it is not replaced");
            }
            Path incoming = dir.resolve(".incoming-" + version);
            deleteTree(incoming);
            try {
                JarSetArchive.unpack(archive, incoming);
            } catch (IOException | RuntimeException e) {
                deleteTree(incoming);
                throw e;
            }
            Path target = dir.resolve(version);
            deleteTree(target);
            Files.move(incoming, target, StandardCopyOption.ATOMIC_MOVE);
            AtomicFiles.fsyncDirectory(dir);
            return target;
        }
    }

    /**
     * Makes {@code version} (installed) current on probation: {@code previous} becomes what was
     * current, the trial is recorded (before the links move, so a crash in between leaves a trial
     * whose rollback is harmless) and the launcher's start count is reset. Versions that are
     * neither current nor previous any more are deleted (A/B: two are kept).
     */
    public synchronized void activate(String version, Trial trial) throws IOException {
        requireVersion(version);
        try (StateDirLock lock = lock()) {
            if (!Files.isRegularFile(dir.resolve(version).resolve(JarSetArchive.MAIN_JAR))) {
                throw new IllegalStateException("version " + version + " is not installed in " + dir);
            }
            Optional<String> old = link(CURRENT);
            Files.deleteIfExists(dir.resolve(STARTS));
            StateFile.write(dir.resolve(TRIAL), trial.toMap());
            setLink(PREVIOUS, old);
            setLink(CURRENT, Optional.of(version));
            prune();
        }
    }

    /** Ends the trial: the new version stays. */
    public synchronized void confirm() throws IOException {
        try (StateDirLock lock = lock()) {
            Files.deleteIfExists(dir.resolve(STARTS));
            Files.deleteIfExists(dir.resolve(TRIAL));
            AtomicFiles.fsyncDirectory(dir);
        }
    }

    /**
     * Puts the previous version back (the packaged program when none), records {@code outcome}
     * for the process that comes up next, ends the trial and deletes the failed version.
     */
    public synchronized void rollback(Outcome outcome) throws IOException {
        try (StateDirLock lock = lock()) {
            StateFile.write(dir.resolve(OUTCOME), outcome.toMap());
            Optional<String> failed = link(CURRENT);
            Optional<String> previous = link(PREVIOUS);
            setLink(CURRENT, previous);
            setLink(PREVIOUS, Optional.empty());
            Files.deleteIfExists(dir.resolve(STARTS));
            Files.deleteIfExists(dir.resolve(TRIAL));
            AtomicFiles.fsyncDirectory(dir);
            if (failed.isPresent() && !failed.equals(previous)) {
                deleteTree(dir.resolve(failed.get()));
            }
        }
    }

    /** Ends a trial the launcher already rolled back (the links are right), recording {@code outcome}. */
    public synchronized void endRolledBack(Outcome outcome, String failed) throws IOException {
        try (StateDirLock lock = lock()) {
            StateFile.write(dir.resolve(OUTCOME), outcome.toMap());
            Files.deleteIfExists(dir.resolve(STARTS));
            Files.deleteIfExists(dir.resolve(TRIAL));
            Files.deleteIfExists(dir.resolve(FAILED_TRIAL));
            AtomicFiles.fsyncDirectory(dir);
            if (VERSION.matcher(failed).matches()
                    && link(CURRENT).filter(failed::equals).isEmpty()
                    && link(PREVIOUS).filter(failed::equals).isEmpty()) {
                deleteTree(dir.resolve(failed));
            }
        }
    }

    /** The outcome of the last trial not yet reported, if any. */
    public synchronized Optional<Outcome> outcome() {
        return StateFile.read(dir.resolve(OUTCOME)).flatMap(Outcome::fromMap);
    }

    /** Forgets the outcome once its result is handed over. */
    public synchronized void reported() throws IOException {
        Files.deleteIfExists(dir.resolve(OUTCOME));
    }

    /** Names of the installed versions. */
    public synchronized List<String> installed() throws IOException {
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))
                    .map(p -> p.getFileName().toString())
                    .filter(n -> VERSION.matcher(n).matches())
                    .sorted()
                    .forEach(out::add);
        }
        return out;
    }

    private void prune() throws IOException {
        Optional<String> current = link(CURRENT);
        Optional<String> previous = link(PREVIOUS);
        for (String v : installed()) {
            if (!current.filter(v::equals).isPresent()
                    && !previous.filter(v::equals).isPresent()) {
                deleteTree(dir.resolve(v));
            }
        }
    }

    private Optional<String> link(String name) {
        try {
            String target = Files.readSymbolicLink(dir.resolve(name)).toString();
            return VERSION.matcher(target).matches() ? Optional.of(target) : Optional.empty();
        } catch (NoSuchFileException | java.nio.file.NotLinkException e) {
            return Optional.empty();
        } catch (IOException e) {
            // Unreadable (the folder is not one, or not ours): no version is in use from here.
            org.tinylog.Logger.error("cannot read {}: {}", dir.resolve(name), e.toString());
            return Optional.empty();
        }
    }

    private void setLink(String name, Optional<String> version) throws IOException {
        Path link = dir.resolve(name);
        if (version.isEmpty()) {
            Files.deleteIfExists(link);
        } else {
            Path tmp = dir.resolve("." + name + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createSymbolicLink(tmp, Path.of(version.get()));
            Files.move(tmp, link, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        AtomicFiles.fsyncDirectory(dir);
    }

    private StateDirLock lock() throws IOException {
        Files.createDirectories(dir);
        return StateDirLock.acquire(dir, "versions dir");
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
