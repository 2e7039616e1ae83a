package dev.prospector.agent.fleet;

import java.util.Locale;

/**
 * What an operator key may do on a board, in rising order: a key of one role may also do
 * everything a lower role may. A board's configuration gives each operator key it obeys a role.
 */
public enum Role {
    /** Status only: {@code ping}, {@code status}. */
    VIEWER,
    /** Commands: {@code report-now}, {@code identify}, {@code restart}. */
    OPERATOR,
    /** Configuration, keys and software: {@code set-config}, {@code rotate-key}, {@code update}. */
    ADMIN;

    /** True if this role may run what needs {@code needed}. */
    public boolean allows(Role needed) {
        return compareTo(needed) >= 0;
    }

    /** The role's name in configuration and on the wire: {@code viewer}, {@code operator}, {@code admin}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code viewer}, {@code operator} or {@code admin}; the message names the choices. */
    public static Role parse(String text) {
        for (Role r : values()) {
            if (r.label().equals(text)) {
                return r;
            }
        }
        throw new IllegalArgumentException("role '" + text + "' is not one of viewer, operator, admin");
    }
}
