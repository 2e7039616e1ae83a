package dev.prospector.agent.update;

import dev.prospector.agent.fleet.CommandHandler;
import dev.prospector.agent.fleet.CommandOutcome;
import dev.prospector.agent.fleet.ResultSink;
import dev.prospector.agent.fleet.Role;
import dev.prospector.agent.fleet.SignedCommand;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import org.tinylog.Logger;

/**
 * {@code update}: installs a new version of the program from a signed command naming its artifact.
 *
 * <p>Arguments: {@code version} (its slot's name), {@code url} (http or https), {@code sha256}
 * (hex, 64 digits), {@code size} (bytes), {@code kind} ({@code jar-set}, a tar.gz of
 * {@code prospector.jar} and {@code lib/}; the default), {@code timeout} (seconds the new version
 * has to prove itself, default {@link #DEFAULT_TIMEOUT}).
 *
 * <p>The hash check is the signature check: the command's signature covers its arguments, the
 * SHA-256 among them, so an artifact whose hash matches is exactly what the admin signed,
 * whoever served it. The steps: answer {@code pending}; on the update thread download (at most
 * {@code size} bytes, {@link ArtifactFetcher}), compare the hash, unpack into
 * {@code versions/<version>/} ({@link JarSetArchive}: strict, bounded), move the {@code current}
 * and {@code previous} links with a trial ({@link VersionSlots}), restart. The final result comes
 * from the next start ({@link Changes}): {@code ok} once the new version is connected with a
 * first report accepted, else {@code failed} from the previous version put back. A failure before
 * the restart (download, hash, archive) is answered at once and changes nothing.
 *
 * <p>A {@code .deb} is not installed here: the service's user cannot run dpkg
 * ({@code NoNewPrivileges}, no capabilities). docs/OPERATIONS.md describes how a privileged
 * one-shot unit would take it over; this handler refuses {@code kind=deb} with that pointer.
 */
public final class UpdateHandler implements CommandHandler {
    public static final String NAME = "update";
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);
    public static final Duration MIN_TIMEOUT = Duration.ofSeconds(5);
    public static final Duration MAX_TIMEOUT = Duration.ofHours(1);
    static final String DOWNLOAD = "download.part";

    private final Changes changes;
    private final ArtifactFetcher fetcher;
    private final AtomicBoolean working = new AtomicBoolean();
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "update");
        t.setDaemon(true);
        return t;
    });

    public UpdateHandler(Changes changes, ArtifactFetcher fetcher) {
        this.changes = changes;
        this.fetcher = fetcher;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Role minimumRole() {
        return Role.ADMIN;
    }

    /** What the command asks for, checked. */
    record Request(String version, URI url, byte[] sha256, long size, Duration timeout) {}

    static Request parse(SignedCommand c) {
        String kind = c.text("kind", "jar-set");
        if (kind.equals("deb")) {
            throw new IllegalArgumentException("kind deb is not installed by the agent (its user cannot run dpkg):"
                    + " see docs/OPERATIONS.md, \"Configuration pushes and updates\"; send a jar-set");
        }
        if (!kind.equals("jar-set")) {
            throw new IllegalArgumentException("kind " + JarSetArchive.safe(kind) + " is not jar-set");
        }
        if (c.args().containsKey("chunks")) {
            throw new IllegalArgumentException("artifacts in chunks over MQTT are not supported yet: give url");
        }
        String version = VersionSlots.requireVersion(c.text("version", ""));
        String url = c.text("url", "");
        if (url.isEmpty()) {
            throw new IllegalArgumentException("update needs argument url (http or https)");
        }
        URI u = ArtifactFetcher.requireUrl(url);
        String hex = c.args().get("sha256") instanceof byte[] b ? HexFormat.of().formatHex(b) : c.text("sha256", "");
        if (!hex.matches("[0-9a-fA-F]{64}")) {
            throw new IllegalArgumentException("sha256 must be 64 hex digits");
        }
        long size = c.args().get("size") instanceof Number n ? n.longValue() : -1;
        if (size <= 0 || size > ArtifactFetcher.MAX_ARTIFACT_BYTES) {
            throw new IllegalArgumentException(
                    "size must be the artifact's bytes, 1 to " + ArtifactFetcher.MAX_ARTIFACT_BYTES);
        }
        Duration timeout = SetConfigHandler.seconds(c.args().get("timeout"), DEFAULT_TIMEOUT, MIN_TIMEOUT, MAX_TIMEOUT);
        return new Request(version, u, HexFormat.of().parseHex(hex.toLowerCase(java.util.Locale.ROOT)), size, timeout);
    }

    @Override
    public CommandOutcome handle(SignedCommand command, ResultSink later) {
        Request r;
        try {
            r = parse(command);
        } catch (IllegalArgumentException e) {
            return CommandOutcome.refused(e.getMessage());
        }
        var busy = changes.busy();
        if (busy.isPresent()) {
            return CommandOutcome.refused(busy.get() + ": send it again when that has ended");
        }
        if (changes.running().equals(r.version())) {
            return CommandOutcome.ok(java.util.Map.of("message", "version " + r.version() + " is already running"));
        }
        if (!working.compareAndSet(false, true)) {
            return CommandOutcome.refused("another update is being downloaded");
        }
        worker.execute(() -> {
            try {
                run(command.id(), r);
            } catch (IOException | RuntimeException e) {
                String why =
                        e instanceof ArtifactFetcher.FetchException || e instanceof JarSetArchive.BadArchiveException
                                ? e.getMessage()
                                : e.getClass().getSimpleName() + ": " + e.getMessage();
                Logger.error("update {} to {} failed: {}", command.id(), r.version(), why);
                later.send(command.id(), CommandOutcome.failed("version " + r.version() + " not installed: " + why));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                working.set(false);
            }
        });
        return CommandOutcome.pending("downloading version " + r.version() + " (" + r.size() + " bytes) from "
                + r.url().getHost());
    }

    private void run(String commandId, Request r) throws IOException, InterruptedException {
        VersionSlots slots = changes.versions();
        Path download = slots.dir().resolve(DOWNLOAD);
        Files.createDirectories(slots.dir());
        try {
            Logger.info("update {}: downloading {} ({} bytes)", commandId, r.url(), r.size());
            fetcher.fetch(r.url(), r.size(), r.sha256(), download);
            slots.install(r.version(), download);
        } finally {
            Files.deleteIfExists(download);
        }
        String from = changes.running();
        slots.activate(
                r.version(),
                new Trial(
                        commandId,
                        "version " + r.version(),
                        r.version(),
                        from,
                        changes.clock().instant().plus(r.timeout())));
        Logger.warn(
                "update {}: version {} installed; restarting into it (back to {} unless healthy within {} s)",
                commandId,
                r.version(),
                from,
                r.timeout().toSeconds());
        changes.restartSoon("run version " + r.version());
    }
}
