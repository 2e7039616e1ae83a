package dev.prospector.agent.transport;

import dev.prospector.agent.common.Failure;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * A validated broker address. Accepts {@code tcp://}, {@code mqtt://} (plain) and {@code ssl://},
 * {@code mqtts://} (TLS); the port defaults to 1883 or 8883.
 */
public record BrokerUrl(String host, int port, boolean tls) {

    public BrokerUrl {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("host is empty");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is out of range");
        }
    }

    /** Parses a URL given by the user; one clear line on failure. */
    public static BrokerUrl parse(String text) {
        String hint = ": use tcp://HOST:PORT (or ssl://HOST:PORT for TLS), e.g. tcp://127.0.0.1:1883";
        if (text == null || text.isBlank()) {
            throw new Failure("no broker URL given" + hint);
        }
        URI uri;
        try {
            uri = new URI(text.trim());
        } catch (URISyntaxException e) {
            throw new Failure("malformed broker URL '" + text + "'" + hint);
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        boolean tls;
        switch (scheme) {
            case "tcp", "mqtt" -> tls = false;
            case "ssl", "mqtts", "tls" -> tls = true;
            default ->
                throw new Failure("broker URL '" + text + "' has "
                        + (scheme.isEmpty() ? "no scheme" : "the unsupported scheme '" + scheme + "'") + hint);
        }
        if (uri.getHost() == null) {
            throw new Failure("broker URL '" + text + "' " + whyNoHost(uri.getRawAuthority()) + hint);
        }
        if (uri.getPath() != null && !uri.getPath().isEmpty() && !uri.getPath().equals("/")) {
            throw new Failure("broker URL '" + text + "' has a path; MQTT over TCP takes none" + hint);
        }
        if (uri.getPort() != -1 && (uri.getPort() < 1 || uri.getPort() > 65535)) {
            throw new Failure("broker URL '" + text + "' has port " + uri.getPort() + ", outside 1-65535" + hint);
        }
        int port = uri.getPort() == -1 ? (tls ? 8883 : 1883) : uri.getPort();
        return new BrokerUrl(uri.getHost(), port, tls);
    }

    /**
     * Why {@link URI} found no host in {@code authority}: {@code URI} gives up on the whole authority
     * when one part is wrong, so the part is named here (a port that is no number, a host name with
     * characters a host name cannot have).
     */
    private static String whyNoHost(String authority) {
        if (authority == null || authority.isEmpty()) {
            return "has no host";
        }
        String hostAndPort = authority.substring(authority.lastIndexOf('@') + 1);
        int colon = hostAndPort.lastIndexOf(':');
        if (colon >= 0 && colon > hostAndPort.lastIndexOf(']')) {
            String port = hostAndPort.substring(colon + 1);
            if (!port.isEmpty() && !port.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return "has a port that is not a number ('" + port + "')";
            }
            hostAndPort = hostAndPort.substring(0, colon);
        }
        return hostAndPort.isEmpty() ? "has no host" : "has no valid host name ('" + hostAndPort + "')";
    }

    /** The URI as Paho expects it. */
    public String pahoUri() {
        String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
        return (tls ? "ssl://" : "tcp://") + h + ":" + port;
    }

    @Override
    public String toString() {
        return pahoUri();
    }
}
