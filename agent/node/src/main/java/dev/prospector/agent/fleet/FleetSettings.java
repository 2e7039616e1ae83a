package dev.prospector.agent.fleet;

import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A board's fleet-command settings: the operator keys it obeys ({@code --operator-key FILE[:ROLE]}),
 * the groups it belongs to ({@code --in-group NAME}: it also obeys commands sent to them) and how far
 * ahead of its clock a command's issue time may be ({@code --command-skew}).
 */
public record FleetSettings(List<TrustedOperators.Spec> operatorKeys, List<String> groups, Duration skew) {
    private static final Pattern GROUP = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

    public static final FleetSettings NONE = new FleetSettings(List.of(), List.of(), CommandService.DEFAULT_SKEW);

    public FleetSettings {
        operatorKeys = List.copyOf(operatorKeys);
        groups = List.copyOf(groups);
        for (String g : groups) {
            if (!GROUP.matcher(g).matches()) {
                throw new IllegalArgumentException(
                        "group name '" + g + "' is not valid: use 1-63 lowercase letters, digits, '.', '_' or '-'");
            }
        }
        if (skew.isNegative() || skew.compareTo(Duration.ofHours(1)) > 0) {
            throw new IllegalArgumentException("command skew " + skew + " must be between 0 and 1 h");
        }
    }
}
