package dev.prospector.agent.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A staged rollout, as AWS IoT Jobs does it: the command goes to the targets at most
 * {@code rate} a period, evenly spaced (a wave of one every period / count); results are collected
 * as they come; once at least {@code abortMin} targets have finished and more than
 * {@code abortPercent} of the finished ones failed (a failure, a refusal or no final answer within
 * the timeout), no further target is sent to, the ones under way are still awaited, and the rest
 * are reported as not sent.
 *
 * <p>Pure apart from the {@link Dispatcher} (which sends one target's command and completes with
 * its final result) and the clock of the waits; tests drive it with boards in one process.
 */
public final class StagedRollout {
    /** Most targets a second, whatever the rate says. */
    static final int MAX_PER_SECOND = 1000;

    private StagedRollout() {}

    /** {@code count} targets every {@code per}. */
    public record Rate(int count, Duration per) {
        private static final Pattern FORM = Pattern.compile("([0-9]{1,6})/(s|sec|min|h|hour)");

        public Rate {
            if (count < 1) {
                throw new IllegalArgumentException("rate must send at least 1 target a period");
            }
        }

        /** Parses {@code 10/min}, {@code 2/s}, {@code 100/h}. */
        public static Rate parse(String text) {
            Matcher m = FORM.matcher(text.trim().toLowerCase(Locale.ROOT));
            if (!m.matches()) {
                throw new IllegalArgumentException(
                        "--rate " + text + " is not a rate: give COUNT/s, COUNT/min or COUNT/h, e.g. 10/min");
            }
            Duration per = switch (m.group(2)) {
                case "s", "sec" -> Duration.ofSeconds(1);
                case "min" -> Duration.ofMinutes(1);
                default -> Duration.ofHours(1);
            };
            return new Rate(Integer.parseInt(m.group(1)), per);
        }

        /** Time between two sends. */
        Duration spacing() {
            Duration d = per.dividedBy(count);
            Duration floor = Duration.ofSeconds(1).dividedBy(MAX_PER_SECOND);
            return d.compareTo(floor) < 0 ? floor : d;
        }
    }

    /**
     * @param rate how fast targets are sent to
     * @param abortPercent stop when more than this share of finished targets failed (0 to 100)
     * @param abortMin ... and at least this many have finished
     * @param timeout how long one target has to give its final result
     */
    public record Settings(Rate rate, double abortPercent, int abortMin, Duration timeout) {
        public Settings {
            if (!(abortPercent >= 0 && abortPercent <= 100)) {
                throw new IllegalArgumentException("--abort-after must be a percentage from 0% to 100%");
            }
            if (abortMin < 1) {
                throw new IllegalArgumentException("--abort-min must be at least 1");
            }
        }

        /** Parses {@code 5%} or {@code 5}. */
        public static double percent(String text) {
            String t = text.trim();
            if (t.endsWith("%")) {
                t = t.substring(0, t.length() - 1);
            }
            try {
                return Double.parseDouble(t);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--abort-after " + text + " is not a percentage, e.g. 5%");
            }
        }
    }

    /** Where a target stands at the end. */
    public enum State {
        SUCCEEDED,
        FAILED,
        REFUSED,
        TIMED_OUT,
        NOT_SENT;

        boolean failure() {
            return this == FAILED || this == REFUSED || this == TIMED_OUT;
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /** One target's final result. */
    public record Result(String target, State state, String detail) {}

    /** Sends one target its command; the future completes with its final result (never exceptionally). */
    @FunctionalInterface
    public interface Dispatcher {
        CompletableFuture<Result> send(String target);
    }

    /**
     * What happened: every target's result in the targets' order, whether the rollout stopped
     * early, and why.
     */
    public record Report(List<Result> results, boolean aborted, String abortReason) {
        public boolean allSucceeded() {
            return !aborted && results.stream().allMatch(r -> r.state() == State.SUCCEEDED);
        }

        public long count(State s) {
            return results.stream().filter(r -> r.state() == s).count();
        }
    }

    /** Progress, for a person watching. */
    @FunctionalInterface
    public interface Progress {
        void on(Result result, int finished, int failed, int total);
    }

    public static Report run(List<String> targets, Settings s, Dispatcher dispatcher, Progress progress)
            throws InterruptedException {
        Map<String, Result> results = new LinkedHashMap<>();
        LinkedBlockingQueue<Result> done = new LinkedBlockingQueue<>();
        long spacingNanos = s.rate().spacing().toNanos();
        long start = System.nanoTime();
        int sent = 0;
        int finished = 0;
        int failed = 0;
        String abortReason = "";
        for (String target : targets) {
            long due = start + sent * spacingNanos;
            // Wait for this target's slot, collecting results meanwhile.
            while (true) {
                long wait = due - System.nanoTime();
                Result r = wait > 0 ? done.poll(wait, TimeUnit.NANOSECONDS) : done.poll();
                if (r == null) {
                    if (wait <= 0) {
                        break;
                    }
                    continue;
                }
                results.put(r.target(), r);
                finished++;
                failed += r.state().failure() ? 1 : 0;
                progress.on(r, finished, failed, targets.size());
            }
            if (finished >= s.abortMin() && failed * 100.0 / finished > s.abortPercent()) {
                abortReason = String.format(
                        Locale.ROOT,
                        "%d of %d finished target(s) failed (%.1f%%), more than --abort-after %s%%: %d target(s) not sent",
                        failed,
                        finished,
                        failed * 100.0 / finished,
                        trim(s.abortPercent()),
                        targets.size() - sent);
                break;
            }
            sent++;
            dispatcher
                    .send(target)
                    .completeOnTimeout(
                            new Result(
                                    target,
                                    State.TIMED_OUT,
                                    "no final result within " + s.timeout().toSeconds() + " s"),
                            s.timeout().toMillis(),
                            TimeUnit.MILLISECONDS)
                    .exceptionally(e -> new Result(target, State.FAILED, String.valueOf(e.getMessage())))
                    .thenAccept(done::add);
        }
        while (finished < sent) {
            Result r = done.take();
            results.put(r.target(), r);
            finished++;
            failed += r.state().failure() ? 1 : 0;
            progress.on(r, finished, failed, targets.size());
        }
        List<Result> ordered = new ArrayList<>();
        for (String t : targets) {
            ordered.add(results.getOrDefault(t, new Result(t, State.NOT_SENT, "rollout stopped")));
        }
        return new Report(ordered, !abortReason.isEmpty(), abortReason);
    }

    private static String trim(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
