package dev.prospector.agent.cli;

import dev.prospector.hardware.BoardSelection;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** {@code auto}, {@code linux} or {@code emulated}. */
public final class BoardOption implements ITypeConverter<BoardSelection> {
    @Override
    public BoardSelection convert(String value) {
        try {
            return BoardSelection.valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException("'" + value + "' is not a board: use auto, linux or emulated");
        }
    }
}
