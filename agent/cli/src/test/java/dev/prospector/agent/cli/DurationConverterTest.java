package dev.prospector.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.TypeConversionException;

/** Durations read as people write them and written back the same way, never as ISO-8601 (PT0S). */
class DurationConverterTest {
    @Test
    void aDurationIsWrittenInTheLargestUnitThatDividesIt() {
        assertEquals("0s", DurationConverter.format(Duration.ZERO));
        assertEquals("100ms", DurationConverter.format(Duration.ofMillis(100)));
        assertEquals("1500ms", DurationConverter.format(Duration.ofMillis(1500)));
        assertEquals("2s", DurationConverter.format(Duration.ofSeconds(2)));
        assertEquals("90s", DurationConverter.format(Duration.ofSeconds(90)));
        assertEquals("5m", DurationConverter.format(Duration.ofMinutes(5)));
        assertEquals("1h", DurationConverter.format(Duration.ofHours(1)));
        assertEquals("1d", DurationConverter.format(Duration.ofDays(1)));
        assertEquals("0.5ms", DurationConverter.format(Duration.ofNanos(500_000)));
    }

    @Test
    void whatIsWrittenReadsBackAsTheSameDuration() {
        for (String text : new String[] {"0s", "100ms", "2s", "5m", "1h", "1d"}) {
            assertEquals(text, DurationConverter.format(DurationConverter.parse(text)));
        }
        assertEquals("2s", DurationConverter.format(DurationConverter.parse("PT2S")), "ISO input, plain output");
    }

    @Test
    void aNegativeOrOverlongDurationIsRefusedNamingTheForms() {
        var negative = assertThrows(TypeConversionException.class, () -> DurationConverter.parse("PT-1S"));
        assertTrue(negative.getMessage().contains("negative"), negative.getMessage());
        var huge = assertThrows(TypeConversionException.class, () -> DurationConverter.parse("99999999999999999999d"));
        assertTrue(huge.getMessage().contains("500ms, 2s, 5m or 1h"), huge.getMessage());
    }
}
