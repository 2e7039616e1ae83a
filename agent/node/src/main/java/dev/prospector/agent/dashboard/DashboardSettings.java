package dev.prospector.agent.dashboard;

import dev.prospector.agent.common.Failure;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;

/**
 * Where the dashboard listens and who may read it.
 *
 * @param port TCP port; 0 turns the dashboard off
 * @param bind the address to listen on: a loopback address (the default, 127.0.0.1) needs no
 *     password; any other (the LAN, 0.0.0.0) needs {@code passwordHash}
 * @param passwordHash an Argon2id hash ({@link PasswordHash}) of the password that LAN readers give
 * @param metricsOpen whether {@code /metrics} is served without the password (for a Prometheus
 *     scraper on the LAN)
 */
public record DashboardSettings(int port, String bind, Optional<String> passwordHash, boolean metricsOpen) {
    /** The default port. */
    public static final int DEFAULT_PORT = 8470;

    public static final String LOOPBACK = "127.0.0.1";
    /** The file in the data dir with the session token of the board's own `prospector status`. */
    public static final String TOKEN_FILE = "dashboard.token";

    public DashboardSettings {
        if (port < 0 || port > 65535) {
            throw new Failure("--dashboard-port " + port + " is out of range: use 1 to 65535, or 0 to turn it off");
        }
        passwordHash = passwordHash.filter(h -> !h.isBlank());
        if (passwordHash.isPresent()) {
            try {
                PasswordHash.parse(passwordHash.get());
            } catch (IllegalArgumentException e) {
                throw new Failure("dashboard-password-hash: " + e.getMessage());
            }
        }
    }

    /** On 127.0.0.1 at {@code port}, without a password. */
    public static DashboardSettings loopback(int port) {
        return new DashboardSettings(port, LOOPBACK, Optional.empty(), false);
    }

    public boolean enabled() {
        return port != 0;
    }

    /** The address to bind, checked: a LAN address without a password is refused with what to do. */
    public InetAddress address() {
        InetAddress a;
        try {
            a = InetAddress.getByName(bind);
        } catch (UnknownHostException e) {
            throw new Failure("--dashboard-bind " + bind + " is not an address of this board: use 127.0.0.1 (this"
                    + " board only), or a LAN address or 0.0.0.0 with a password");
        }
        if (!a.isLoopbackAddress() && passwordHash.isEmpty()) {
            throw new Failure(
                    "--dashboard-bind " + bind + " would open the dashboard to the network without a password:"
                            + " make a hash with `prospector password` and put the line it prints"
                            + " (dashboard-password-hash = …) in the config file, or bind to 127.0.0.1");
        }
        return a;
    }

    /** Whether readers must log in: on any address but loopback. */
    public boolean needsLogin() {
        return passwordHash.isPresent() && !address().isLoopbackAddress();
    }
}
