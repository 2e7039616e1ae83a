package dev.prospector.agent.cli;

import dev.prospector.agent.dashboard.DashboardSettings;
import java.util.Optional;
import picocli.CommandLine.Option;

/** Where the board's dashboard listens (see docs/OPERATIONS.md): {@code run} serves it, {@code status} reads it. */
public final class DashboardOptions {
    /** Read for the default of {@code --dashboard-port}: the test kit sets 0 for the agents it starts. */
    public static final String PORT_ENVIRONMENT = "PROSPECTOR_DASHBOARD_PORT";

    @Option(
            names = "--dashboard-port",
            paramLabel = "PORT",
            defaultValue = "" + DashboardSettings.DEFAULT_PORT,
            description =
                    "Port of the board's status page, JSON API and /metrics; 0 turns it off (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(
            names = "--dashboard-bind",
            paramLabel = "ADDRESS",
            defaultValue = DashboardSettings.LOOPBACK,
            description = "Address the dashboard listens on (default: ${DEFAULT-VALUE}, this board only). Any other"
                    + " (a LAN address, 0.0.0.0) needs dashboard-password-hash.")
    String bind;

    @Option(
            names = "--dashboard-password-hash",
            paramLabel = "HASH",
            description = "Argon2id hash of the dashboard password, from `prospector password`; set it in the"
                    + " config file, not on the command line.")
    String passwordHash;

    @Option(
            names = "--dashboard-metrics-open",
            defaultValue = "false",
            description = "Serve /metrics without the password on a LAN address (for a Prometheus scraper).")
    boolean metricsOpen;

    DashboardSettings settings() {
        return new DashboardSettings(port, bind, Optional.ofNullable(passwordHash), metricsOpen);
    }
}
