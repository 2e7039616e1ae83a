package dev.prospector.agent.cli;

import dev.prospector.agent.common.Failure;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Durations as people write them: {@code 500ms}, {@code 2s}, {@code 5m}, {@code 1h}, {@code 1d}, or
 * ISO-8601 ({@code PT2S}); and back again ({@link #format}), so that no message shows a user
 * {@code PT0S} for the {@code 0s} they wrote.
 */
public final class DurationConverter implements ITypeConverter<Duration> {
    private static final Pattern SIMPLE = Pattern.compile("(\\d+)(ms|s|m|h|d)");
    private static final String EXAMPLES = "write e.g. 500ms, 2s, 5m or 1h";

    @Override
    public Duration convert(String value) {
        return parse(value);
    }

    public static Duration parse(String value) {
        String v = value.trim();
        Duration d;
        try {
            Matcher m = SIMPLE.matcher(v);
            if (m.matches()) {
                long n = Long.parseLong(m.group(1));
                d = switch (m.group(2)) {
                    case "ms" -> Duration.ofMillis(n);
                    case "s" -> Duration.ofSeconds(n);
                    case "m" -> Duration.ofMinutes(n);
                    case "h" -> Duration.ofHours(n);
                    default -> Duration.ofDays(n);
                };
            } else {
                d = Duration.parse(v);
            }
        } catch (DateTimeParseException e) {
            throw new TypeConversionException("'" + value + "' is not a duration: " + EXAMPLES);
        } catch (ArithmeticException | NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is too long a duration: " + EXAMPLES);
        }
        if (d.isNegative()) {
            throw new TypeConversionException("'" + value + "' is a negative duration: " + EXAMPLES);
        }
        return d;
    }

    /**
     * A duration as a user would write it: the largest unit that divides it ({@code 0s},
     * {@code 100ms}, {@code 2s}, {@code 5m}, {@code 1h}, {@code 1d}), milliseconds with a fraction
     * below that ({@code 0.5ms}).
     */
    public static String format(Duration d) {
        if (d.isNegative()) {
            return "-" + format(d.negated());
        }
        if (d.isZero()) {
            return "0s";
        }
        long seconds = d.getSeconds();
        if (d.getNano() == 0) {
            if (seconds % 86_400 == 0) {
                return seconds / 86_400 + "d";
            }
            if (seconds % 3_600 == 0) {
                return seconds / 3_600 + "h";
            }
            if (seconds % 60 == 0) {
                return seconds / 60 + "m";
            }
            return seconds + "s";
        }
        BigDecimal millis =
                BigDecimal.valueOf(seconds).multiply(BigDecimal.valueOf(1000)).add(BigDecimal.valueOf(d.getNano(), 6));
        return millis.stripTrailingZeros().toPlainString() + "ms";
    }

    /** Fails, naming {@code option} and the floor, when {@code value} is below {@code least}. */
    public static void requireAtLeast(String option, Duration value, Duration least) {
        if (value.compareTo(least) < 0) {
            throw new Failure(option + " " + format(value) + " is too short: use at least " + format(least));
        }
    }
}
