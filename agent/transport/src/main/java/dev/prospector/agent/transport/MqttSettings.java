package dev.prospector.agent.transport;

import dev.prospector.agent.common.Failure;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How to reach the broker. Validated when built; every message names the setting.
 *
 * @param url broker address
 * @param clientId MQTT client id (unique per broker)
 * @param username optional user name
 * @param password optional password (never logged)
 * @param keepAlive MQTT keep-alive
 * @param sessionExpiry how long the broker keeps our session (and queued QoS 1 messages) while we are away;
 *     zero for a clean, non-persistent session
 * @param backoff reconnect policy
 * @param tls CA and client certificate files; only with an {@code ssl://} URL (which without them
 *     trusts the JDK's CAs)
 * @param maxPacketBytes the MQTT 5 Maximum Packet Size we announce in CONNECT: the broker never
 *     delivers us a larger packet; 0 to announce none
 */
public record MqttSettings(
        BrokerUrl url,
        String clientId,
        Optional<String> username,
        Optional<String> password,
        Duration keepAlive,
        Duration sessionExpiry,
        Backoff backoff,
        Optional<TlsSettings> tls,
        long maxPacketBytes) {

    public MqttSettings {
        Objects.requireNonNull(url, "url");
        if (clientId == null || clientId.isBlank() || clientId.length() > 128) {
            throw new IllegalArgumentException("MQTT client id must be 1-128 characters");
        }
        if (keepAlive.isNegative() || keepAlive.toSeconds() > 65535) {
            throw new IllegalArgumentException("keep-alive must be 0-65535 s");
        }
        if (sessionExpiry.isNegative()) {
            throw new IllegalArgumentException("session expiry must not be negative");
        }
        if (maxPacketBytes < 0 || maxPacketBytes > 268_435_460L) {
            throw new IllegalArgumentException(
                    "maximum packet size must be 0 (none) to 268435460 bytes (MQTT's limit)");
        }
        if (tls.isPresent() && !url.tls()) {
            throw new Failure("--ca is given but broker URL " + url + " is not TLS: use ssl://" + url.host()
                    + ":8883 (or the broker's TLS port)");
        }
    }

    /** Defaults for a client: 30 s keep-alive, a one-day session, standard backoff. */
    public static MqttSettings of(BrokerUrl url, String clientId) {
        return new MqttSettings(
                url,
                clientId,
                Optional.empty(),
                Optional.empty(),
                Duration.ofSeconds(30),
                Duration.ofDays(1),
                Backoff.standard(),
                Optional.empty(),
                0);
    }

    public MqttSettings withSessionExpiry(Duration expiry) {
        return new MqttSettings(url, clientId, username, password, keepAlive, expiry, backoff, tls, maxPacketBytes);
    }

    /** TLS with these files (the URL must be {@code ssl://}). */
    public MqttSettings withTls(TlsSettings files) {
        return new MqttSettings(
                url,
                clientId,
                username,
                password,
                keepAlive,
                sessionExpiry,
                backoff,
                Optional.of(files),
                maxPacketBytes);
    }

    /** MQTT user name and password (the password is never logged). */
    public MqttSettings withCredentials(String user, Optional<String> secret) {
        return new MqttSettings(
                url, clientId, Optional.of(user), secret, keepAlive, sessionExpiry, backoff, tls, maxPacketBytes);
    }

    /** Announces {@code bytes} as our Maximum Packet Size: the broker drops larger messages for us. */
    public MqttSettings withMaxPacketBytes(long bytes) {
        return new MqttSettings(url, clientId, username, password, keepAlive, sessionExpiry, backoff, tls, bytes);
    }

    @Override
    public String toString() {
        return "MqttSettings[url=" + url + ", clientId=" + clientId + ", username=" + username + ", password="
                + (password.isPresent() ? "(set)" : "(none)") + ", tls=" + tls + "]";
    }
}
