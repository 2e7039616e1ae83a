package dev.prospector.agent.transport;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The MQTT topic tree, all under {@code prospector/v1/<fleet>/}. One place so that agent,
 * verifier and fleet console agree.
 */
public final class Topics {
    /** Fleet names and device ids: safe in topics and file names. */
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    private static final String ROOT = "prospector/v1/";

    private Topics() {
    }

    /** Checks a fleet name; the message names the rule. */
    public static String requireFleet(String fleet) {
        if (fleet == null || !NAME.matcher(fleet).matches()) {
            throw new IllegalArgumentException("fleet name '" + fleet
                    + "' is not valid: use 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        return fleet;
    }

    public static String report(String fleet, String device) {
        return ROOT + fleet + "/" + device + "/report";
    }

    public static String receipt(String fleet, String device) {
        return ROOT + fleet + "/" + device + "/receipt";
    }

    public static String state(String fleet, String device) {
        return ROOT + fleet + "/" + device + "/state";
    }

    /** All devices' reports of a fleet. */
    public static String allReports(String fleet) {
        return ROOT + fleet + "/+/report";
    }

    /** All devices' receipts of a fleet. */
    public static String allReceipts(String fleet) {
        return ROOT + fleet + "/+/receipt";
    }

    /** A shared subscription: the broker gives each message to one member of the group. */
    public static String shared(String group, String filter) {
        return "$share/" + group + "/" + filter;
    }

    /** The device segment of a per-device topic of this fleet, if it is one. */
    public static Optional<String> deviceOf(String fleet, String topic) {
        String prefix = ROOT + fleet + "/";
        if (!topic.startsWith(prefix)) {
            return Optional.empty();
        }
        String rest = topic.substring(prefix.length());
        int slash = rest.indexOf('/');
        return slash <= 0 ? Optional.empty() : Optional.of(rest.substring(0, slash));
    }
}
