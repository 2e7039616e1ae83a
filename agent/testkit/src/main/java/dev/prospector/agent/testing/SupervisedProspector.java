package dev.prospector.agent.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The program started through a launcher script ({@code prospector} at the root of the source
 * tree, or the Debian package's) and kept running as systemd runs {@code prospector.service}:
 * started again after {@link #RESTART_SEC} when it exits with a failure or with 75
 * ({@code Restart=on-failure}, {@code RestartForceExitStatus=75}), left stopped after exit 0 or 2
 * ({@code RestartPreventExitStatus=2}), at most {@link #START_LIMIT} starts
 * ({@code StartLimitBurst}). Each start's output goes to {@code NAME.N.out} and {@code NAME.N.err}.
 */
public final class SupervisedProspector implements AutoCloseable {
    /** The unit's RestartSec=5s, shortened for tests. */
    public static final Duration RESTART_SEC = Duration.ofMillis(300);
    /** Most starts, like StartLimitBurst (with a margin for the tests' restarts). */
    public static final int START_LIMIT = 12;

    private final List<String> command;
    private final Map<String, String> environment;
    private final Path logDir;
    private final String name;
    private final List<Integer> exits = new CopyOnWriteArrayList<>();
    private final Thread loop;
    private volatile Process current;
    private volatile boolean stopping;
    private volatile int starts;

    private SupervisedProspector(List<String> command, Map<String, String> environment, Path logDir, String name) {
        this.command = command;
        this.environment = environment;
        this.logDir = logDir;
        this.name = name;
        this.loop = new Thread(this::supervise, "supervisor-" + name);
        this.loop.setDaemon(true);
    }

    /** The source tree's launcher script, found from the working directory upwards. */
    public static Path sourceLauncher() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null) {
            if (Files.isRegularFile(p.resolve("prospector")) && Files.isDirectory(p.resolve("agent"))) {
                return p.resolve("prospector");
            }
            p = p.getParent();
        }
        throw new IllegalStateException(
                "no launcher script `prospector` above " + Path.of("").toAbsolutePath());
    }

    /** Starts {@code launcher ARGS...} under supervision, with {@code environment} added. */
    public static SupervisedProspector start(
            Path launcher, Map<String, String> environment, Path logDir, String name, String... args) {
        List<String> command = new ArrayList<>(List.of("bash", launcher.toString()));
        command.addAll(List.of(args));
        SupervisedProspector s = new SupervisedProspector(command, environment, logDir, name);
        s.loop.start();
        return s;
    }

    private void supervise() {
        try {
            Files.createDirectories(logDir);
            while (!stopping && starts < START_LIMIT) {
                int n = ++starts;
                ProcessBuilder pb = new ProcessBuilder(command)
                        .redirectOutput(logDir.resolve(name + "." + n + ".out").toFile())
                        .redirectError(logDir.resolve(name + "." + n + ".err").toFile());
                pb.environment().remove("PROSPECTOR_CONFIG");
                pb.environment().remove("PROSPECTOR_SLOT");
                pb.environment().putIfAbsent("PROSPECTOR_PLOT_SIZE", "0");
                pb.environment().putAll(environment);
                Process p = pb.start();
                current = p;
                int code = p.waitFor();
                exits.add(code);
                if (stopping || code == 0 || code == 2 || code == 143) {
                    break;
                }
                Thread.sleep(RESTART_SEC.toMillis()); // RestartSec: the unit's delay, not a test's wait
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** How often the program was started. */
    public int starts() {
        return starts;
    }

    /** Exit codes of the runs that ended, in order. */
    public List<Integer> exits() {
        return List.copyOf(exits);
    }

    /** The process of the current run (the JVM: the launcher execs java). */
    public Process process() {
        return current;
    }

    /** Whether a run is under way. */
    public boolean running() {
        Process p = current;
        return p != null && p.isAlive();
    }

    /** Every run's standard error, in order. */
    public String stderr() {
        StringBuilder b = new StringBuilder();
        for (int i = 1; i <= starts; i++) {
            Path f = logDir.resolve(name + "." + i + ".err");
            try {
                if (Files.exists(f)) {
                    b.append("--- start ").append(i).append('\n').append(Files.readString(f));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return b.toString();
    }

    /** Stops supervising and ends the current run with SIGTERM (SIGKILL after 20 s). */
    @Override
    public void close() {
        stopping = true;
        Process p = current;
        if (p != null && p.isAlive()) {
            p.destroy();
            try {
                if (!p.waitFor(20, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            loop.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
