package dev.prospector.agent.common;

/**
 * A failure the user can act on: its message is one line that names what is wrong and how to fix
 * it, and its {@link Kind} says what sort of failure it is. Any module may throw it; only the
 * command line turns it into a message and an exit code (see the CLI's {@code ExitCodes}), with no
 * stack trace unless {@code --debug}.
 */
public class Failure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** What sort of failure: what the user should look at. */
    public enum Kind {
        /** Arguments, files or configuration are wrong: fix the input. */
        BAD_INPUT,
        /** A check failed: an invalid signature, a rejected report. */
        CHECK_FAILED,
        /** A peer or a resource is unreachable or refuses: a broker, a held lock, a full or read-only disk. */
        UNAVAILABLE,
        /** A bug: not the user's doing. */
        INTERNAL
    }

    private final Kind kind;

    /** A failure of the user's input. */
    public Failure(String message) {
        this(message, Kind.BAD_INPUT, null);
    }

    public Failure(String message, Kind kind) {
        this(message, kind, null);
    }

    public Failure(String message, Kind kind, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
