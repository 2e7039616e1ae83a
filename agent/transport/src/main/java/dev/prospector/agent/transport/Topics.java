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

    private Topics() {}

    /** Checks a fleet name; the message names the rule. */
    public static String requireFleet(String fleet) {
        if (fleet == null || !NAME.matcher(fleet).matches()) {
            throw new IllegalArgumentException(
                    "fleet name '" + fleet
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

    /** Fleet commands addressed to one device (issue 14). */
    public static String command(String fleet, String device) {
        return ROOT + fleet + "/" + device + "/cmd";
    }

    /** Fleet commands addressed to a group of devices. */
    public static String groupCommand(String fleet, String group) {
        return ROOT + fleet + "/groups/" + group + "/cmd";
    }

    /** Fleet commands addressed to every device of the fleet. */
    public static String allCommand(String fleet) {
        return ROOT + fleet + "/all/cmd";
    }

    /** A device's signed answers to fleet commands. */
    public static String commandResult(String fleet, String device) {
        return ROOT + fleet + "/" + device + "/cmd/result";
    }

    /** Every device's command results. */
    public static String allCommandResults(String fleet) {
        return ROOT + fleet + "/+/cmd/result";
    }

    /** Where a console may ask (MQTT 5 response topic) for copies of results: under {@code replies/}. */
    public static String repliesRoot(String fleet) {
        return ROOT + fleet + "/replies/";
    }

    /** A device's retained compact state: counters and its last receipt (for {@code fleet list}). */
    public static String summary(String fleet, String device) {
        return ROOT + fleet + "/" + device + "/summary";
    }

    /** Every device's retained birth/will state. */
    public static String allStates(String fleet) {
        return ROOT + fleet + "/+/state";
    }

    /** Every device's retained compact state. */
    public static String allSummaries(String fleet) {
        return ROOT + fleet + "/+/summary";
    }

    /** The device of a topic {@code prospector/v1/<fleet>/<device>/<suffix>}. */
    public static Optional<String> deviceOf(String fleet, String topic, String suffix) {
        String prefix = ROOT + fleet + "/";
        String end = "/" + suffix;
        if (!topic.startsWith(prefix) || !topic.endsWith(end) || topic.length() <= prefix.length() + end.length()) {
            return Optional.empty();
        }
        String device = topic.substring(prefix.length(), topic.length() - end.length());
        return device.isEmpty() || device.contains("/") ? Optional.empty() : Optional.of(device);
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

    /** The device of a report topic {@code prospector/v1/<fleet>/<device>/report}. */
    public static Optional<String> deviceOfReport(String fleet, String topic) {
        String prefix = ROOT + fleet + "/";
        if (!topic.startsWith(prefix) || !topic.endsWith("/report")) {
            return Optional.empty();
        }
        String device = topic.substring(prefix.length(), topic.length() - "/report".length());
        return device.isEmpty() || device.contains("/") ? Optional.empty() : Optional.of(device);
    }
}
