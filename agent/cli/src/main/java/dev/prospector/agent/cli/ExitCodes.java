package dev.prospector.agent.cli;

import dev.prospector.agent.common.Failure;

/**
 * The program's exit codes, documented in the README: the one place where a {@link Failure}'s
 * kind becomes a number.
 */
public final class ExitCodes {
    /** Success. */
    public static final int OK = 0;
    /**
     * A check failed: invalid data, a rejected report, a demo whose reports were not all accepted or
     * whose boards did not all prove their service.
     */
    public static final int CHECK_FAILED = 1;
    /** Bad input: arguments, files, configuration. */
    public static final int BAD_INPUT = 2;
    /** A peer or resource is unreachable or refuses (a broker, a held lock). */
    public static final int UNAVAILABLE = 3;
    /** A bug (an internal error; run with --debug and report it). */
    public static final int INTERNAL = 70;

    private ExitCodes() {}

    /** The exit code of a failure of this kind. */
    public static int of(Failure.Kind kind) {
        return switch (kind) {
            case BAD_INPUT -> BAD_INPUT;
            case CHECK_FAILED -> CHECK_FAILED;
            case UNAVAILABLE -> UNAVAILABLE;
            case INTERNAL -> INTERNAL;
        };
    }
}
