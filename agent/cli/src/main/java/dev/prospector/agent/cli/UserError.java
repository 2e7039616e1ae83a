package dev.prospector.agent.cli;

/**
 * A failure the user can fix. Its message is one line that names what is wrong and how to fix
 * it; the command line prints it as {@code prospector: <message>} and exits with {@link #exitCode()}
 * (no stack trace unless {@code --debug}).
 */
public final class UserError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Exit code for bad input (arguments, files, configuration). */
    public static final int BAD_INPUT = 2;
    /** Exit code for a failed check (invalid signature, rejected reports). */
    public static final int CHECK_FAILED = 1;
    /** Exit code for an unreachable or refusing peer (broker). */
    public static final int UNAVAILABLE = 3;

    private final int exitCode;

    public UserError(String message) {
        this(message, BAD_INPUT, null);
    }

    public UserError(String message, int exitCode) {
        this(message, exitCode, null);
    }

    public UserError(String message, int exitCode, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}
