package dev.prospector.agent.update;

import dev.prospector.agent.fleet.CommandOutcome;
import dev.prospector.agent.fleet.ResultSink;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import org.tinylog.Logger;

/**
 * Changes on trial, and how they end: a pushed configuration ({@link ConfigStore}) or a new
 * version ({@link VersionSlots}), one at a time.
 *
 * <h2>How a change is applied: by a restart</h2>
 * A change is put in place on disk, then the agent restarts through the exit path systemd restarts
 * ({@code restart}: exit 75, {@code RestartForceExitStatus=75}), the one the factory reset uses.
 * Not re-wired in process: the broker, fleet, TLS, board and data settings are fixed when the
 * agent is put together (a SIGHUP reload applies only the interval, receipt timeout and verifier
 * keys), a new version needs a new JVM anyway, and a fresh start reads the configuration through
 * exactly the code a reboot does, so what is confirmed healthy is what the board will run after a
 * power cut. The cost is a JVM start, a few seconds on a Pi.
 *
 * <h2>How a trial ends</h2>
 * At every start {@link #resume} first hands the recorded outcome of an ended trial to the results
 * (which queue it until the broker is reached, and keep it across restarts), then watches a
 * trial in progress: healthy (connected, first report accepted) by its deadline, the change stays
 * and an {@code ok} result says so; not, the change is undone, the outcome recorded, and the agent
 * restarts into what it ran before, whose first start sends the {@code failed} result. A version
 * that cannot start at all is put back by the launcher (see {@link VersionSlots}); the next start
 * finds a trial whose target is not what it runs and reports that.
 */
public final class Changes {
    /** Wait before the restart, so that the command's pending result can leave first. */
    static final Duration RESTART_DELAY = Duration.ofSeconds(1);

    private final ConfigStore config;
    private final VersionSlots versions;
    private final Optional<String> runningSlot;
    private final Clock clock;
    private final Runnable restart;

    /**
     * @param runningSlot the version slot this process was started from ({@code PROSPECTOR_SLOT},
     *     set by the launcher), empty for the packaged program
     * @param restart ends the process so that it is started again (exit 75 under systemd)
     */
    public Changes(Path dataDir, Optional<String> runningSlot, Clock clock, Runnable restart) {
        this.config = new ConfigStore(dataDir);
        this.versions = new VersionSlots(dataDir);
        this.runningSlot = runningSlot;
        this.clock = clock;
        this.restart = restart;
    }

    public ConfigStore config() {
        return config;
    }

    public VersionSlots versions() {
        return versions;
    }

    public Clock clock() {
        return clock;
    }

    /** The version slot this process runs, or {@link VersionSlots#PACKAGED}. */
    public String running() {
        return runningSlot.orElse(VersionSlots.PACKAGED);
    }

    /** Why a new change must wait, if one is on trial. */
    public Optional<String> busy() {
        if (config.trial().isPresent()) {
            return Optional.of("a configuration push (" + config.trial().get().commandId() + ") is on trial");
        }
        if (versions.trial().isPresent()) {
            return Optional.of("an update (" + versions.trial().get().commandId() + ") is on trial");
        }
        return Optional.empty();
    }

    /** Restarts the agent after {@link #RESTART_DELAY}, on a thread of its own. */
    public void restartSoon(String why) {
        Logger.warn("restarting to {}", why);
        Thread t = new Thread(
                () -> {
                    try {
                        Thread.sleep(RESTART_DELAY.toMillis());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    restart.run();
                },
                "change-restart");
        t.setDaemon(false);
        t.start();
    }

    /**
     * At start: reports the outcome of a trial that ended, then watches the trial in progress, if
     * any, on {@code timer}. {@code health} is asked every {@link TrialWatch#TICK_MS}.
     */
    public void resume(ResultSink results, HealthCheck health, ScheduledExecutorService timer) {
        reportOutcomes(results);
        Optional<Trial> failedStart = versions.failedTrial();
        Optional<Trial> update = failedStart.isPresent() ? failedStart : versions.trial();
        if (update.isPresent()) {
            Trial t = update.get();
            if (failedStart.isPresent() || !t.target().equals(running())) {
                String failed = t.target();
                int starts = versions.trialStarts();
                Outcome o = new Outcome(
                        t.commandId(),
                        false,
                        "version " + failed + " did not start (" + starts + " start(s)); the launcher put " + running()
                                + " back");
                Logger.error("update: {}", o.message());
                try {
                    versions.endRolledBack(o, failed);
                } catch (IOException e) {
                    Logger.error("update: cannot end the trial of {}: {}", failed, e.getMessage());
                }
                reportOutcomes(results);
            } else {
                Logger.info("update: version {} on trial until {}", t.target(), t.deadline());
                TrialWatch.start(
                        timer,
                        clock,
                        t,
                        health,
                        () -> keep(
                                results,
                                t,
                                "version " + t.target() + " is up: connected and a first report accepted",
                                () -> versions.confirm()),
                        () -> undo(
                                t,
                                "version " + t.target()
                                        + " did not become healthy (connected, first report accepted) by "
                                        + t.deadline() + "; rolled back to " + t.from(),
                                versions::rollback));
            }
        }
        Optional<Trial> push = config.trial();
        if (push.isPresent()) {
            Trial t = push.get();
            Logger.info("set-config: pushed configuration on trial until {}", t.deadline());
            TrialWatch.start(
                    timer,
                    clock,
                    t,
                    health,
                    () -> keep(
                            results,
                            t,
                            "configuration applied: connected and a first report accepted",
                            config::confirm),
                    () -> undo(
                            t,
                            "the pushed configuration did not reach the broker (connected, first report accepted) by "
                                    + t.deadline() + "; rolled back to the previous configuration",
                            config::rollback));
        }
    }

    private interface Step {
        void run() throws IOException;
    }

    private interface Undo {
        void run(Outcome o) throws IOException;
    }

    private void keep(ResultSink results, Trial t, String message, Step confirm) {
        try {
            confirm.run();
        } catch (IOException e) {
            Logger.error("cannot end the trial of {}: {}", t.change(), e.getMessage());
        }
        Logger.info("{}: {}", t.change(), message);
        results.send(t.commandId(), CommandOutcome.ok(result(t, message)));
    }

    private void undo(Trial t, String message, Undo rollback) {
        Logger.error("{}: {}", t.change(), message);
        try {
            rollback.run(new Outcome(t.commandId(), false, message));
        } catch (IOException e) {
            Logger.error("cannot roll back {}: {}", t.change(), e.getMessage());
        }
        restartSoon("run what was there before " + t.change());
    }

    private void reportOutcomes(ResultSink results) {
        for (var source : java.util.List.<OutcomeSource>of(
                new OutcomeSource(config::outcome, config::reported),
                new OutcomeSource(versions::outcome, versions::reported))) {
            Optional<Outcome> o = source.read().get();
            if (o.isPresent()) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("message", o.get().message());
                r.put("running", running());
                results.send(
                        o.get().commandId(),
                        o.get().ok()
                                ? CommandOutcome.ok(r)
                                : new CommandOutcome(
                                        CommandOutcome.Status.FAILED, o.get().message(), r));
                try {
                    source.reported().run();
                } catch (IOException e) {
                    Logger.error("cannot forget a reported outcome: {}", e.getMessage());
                }
            }
        }
    }

    private record OutcomeSource(java.util.function.Supplier<Optional<Outcome>> read, Step reported) {}

    private Map<String, Object> result(Trial t, String message) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("message", message);
        r.put("running", running());
        if (!t.target().isEmpty()) {
            r.put("version", t.target());
        }
        return r;
    }
}
