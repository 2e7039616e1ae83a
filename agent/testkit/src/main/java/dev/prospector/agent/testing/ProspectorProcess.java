package dev.prospector.agent.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Assertions;

/** The prospector program in a child JVM, as a user or systemd would run it. Output goes to files. */
public final class ProspectorProcess implements AutoCloseable {
    private final Process process;
    private final Path out;
    private final Path err;

    private ProspectorProcess(Process process, Path out, Path err) {
        this.process = process;
        this.out = out;
        this.err = err;
    }

    /** The child JVM's options unless a test gives its own. */
    public static final List<String> DEFAULT_JVM_OPTIONS = List.of("-Xmx256m", "-XX:+UseSerialGC");

    /** Starts {@code prospector ARGS...}; {@code logDir} receives NAME.out and NAME.err. */
    public static ProspectorProcess start(Path logDir, String name, String... args) {
        return start(DEFAULT_JVM_OPTIONS, logDir, name, args);
    }

    /** Starts {@code prospector ARGS...} in a JVM with these options (e.g. {@code -Xint} for a slow board). */
    public static ProspectorProcess start(List<String> jvmOptions, Path logDir, String name, String... args) {
        return start(jvmOptions, Map.of(), logDir, name, args);
    }

    /**
     * Starts {@code prospector ARGS...} in a JVM with these options and these variables added to its
     * environment (e.g. {@code NOTIFY_SOCKET} and {@code WATCHDOG_USEC}, as systemd sets them).
     */
    public static ProspectorProcess start(
            List<String> jvmOptions, Map<String, String> environment, Path logDir, String name, String... args) {
        return start(SIGNALS_AT_DEFAULT, jvmOptions, environment, logDir, name, args);
    }

    /**
     * Starts {@code prospector ARGS...} with SIGHUP ignored, as {@code nohup} starts a program (the
     * JVM then keeps it ignored).
     */
    public static ProspectorProcess startWithHangUpIgnored(Path logDir, String name, String... args) {
        return start(List.of("env", "--ignore-signal=HUP"), DEFAULT_JVM_OPTIONS, Map.of(), logDir, name, args);
    }

    /**
     * What the child is started through: {@code env --default-signal=HUP}, so that it gets SIGHUP at
     * its default as under systemd even when the tests run with SIGHUP ignored (under {@code nohup},
     * which a child inherits and the JVM honours: a test of SIGHUP would then wait in vain); nothing
     * where {@code env} lacks that option (coreutils before 8.31).
     */
    private static final List<String> SIGNALS_AT_DEFAULT =
            envResetsSignals() ? List.of("env", "--default-signal=HUP") : List.of();

    private static boolean envResetsSignals() {
        try {
            Process p = new ProcessBuilder("env", "--default-signal=HUP", "true")
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static ProspectorProcess start(
            List<String> launcher,
            List<String> jvmOptions,
            Map<String, String> environment,
            Path logDir,
            String name,
            String... args) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(launcher);
        command.add(java);
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.prospector.agent.Main"));
        command.addAll(List.of(args));
        try {
            Files.createDirectories(logDir);
            Path out = logDir.resolve(name + ".out");
            Path err = logDir.resolve(name + ".err");
            ProcessBuilder pb =
                    new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
            pb.environment().remove("PROSPECTOR_CONFIG");
            pb.environment().putAll(environment);
            // An agent started here plots nothing unless the test asks (--plot-size): not 1 GiB per test.
            if (!pb.environment().containsKey("PROSPECTOR_PLOT_SIZE")) {
                pb.environment().put("PROSPECTOR_PLOT_SIZE", "0");
            }
            // Nor a dashboard on the default port (8470), which agents started side by side would share.
            if (!pb.environment().containsKey("PROSPECTOR_DASHBOARD_PORT")) {
                pb.environment().put("PROSPECTOR_DASHBOARD_PORT", "0");
            }
            // The build tells the test JVM where the embedded broker's jars are (demo); tell the child too.
            String brokerLib = System.getProperty("prospector.broker.lib");
            if (brokerLib != null && !pb.environment().containsKey("PROSPECTOR_BROKER_LIB")) {
                pb.environment().put("PROSPECTOR_BROKER_LIB", brokerLib);
            }
            return new ProspectorProcess(pb.start(), out, err);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs {@code prospector ARGS...} to completion. */
    public static Result run(Path logDir, String name, String... args) {
        try (ProspectorProcess p = start(logDir, name, args)) {
            if (!p.process.waitFor(120, TimeUnit.SECONDS)) {
                throw new AssertionError("prospector " + String.join(" ", args) + " did not finish in 120 s");
            }
            return new Result(p.process.exitValue(), p.stdout(), p.stderr());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** What a finished command left. */
    public record Result(int exitCode, String stdout, String stderr) {}

    /** The child's process id. */
    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /**
     * Waits up to {@code limit} until the process has logged {@code text} (on stderr); fails with its
     * stderr if it ends first, rather than waiting out the limit.
     */
    public void awaitLogged(String text, Duration limit) {
        Awaitility.await("\"" + text + "\" logged by pid " + pid())
                .atMost(limit)
                .until(() -> stderr().contains(text) || !isAlive());
        Assertions.assertTrue(isAlive(), () -> "ended before logging \"" + text + "\": " + stderr());
    }

    /** The exit code of a process that has ended. */
    public int exitCode() {
        return process.exitValue();
    }

    /** SIGKILL, as a power cut or the OOM killer would. */
    public void kill() {
        process.destroyForcibly();
        waitQuietly();
    }

    /** SIGTERM, as systemd stops a service. */
    public void stop() {
        process.destroy();
        waitQuietly();
    }

    public String stdout() {
        return read(out);
    }

    public String stderr() {
        return read(err);
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            kill();
        }
    }

    private void waitQuietly() {
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
