package dev.prospector.hardware;

import dev.prospector.hardware.io.PowerSensors;
import java.nio.file.Path;
import java.util.Optional;
import org.tinylog.Logger;

/** The one place boards are made. */
public final class Boards {

    private Boards() {}

    /**
     * Opens the board the config selects: {@link BoardSelection#AUTO} reads the real board on an
     * ARM board and emulates one anywhere else.
     */
    public static Board open(BoardConfig config) {
        BoardSelection selection = resolve(config.selection(), config.root());
        if (config.selection() == BoardSelection.AUTO) {
            BoardInfo info = detect(config.root());
            Logger.info("Board {} ({}, {}): using the {} board", info.kind(), info.model(),
                    info.arch(), selection.name().toLowerCase(java.util.Locale.ROOT));
        }
        if (selection == BoardSelection.EMULATED) {
            return new EmulatedBoard(config);
        }
        Optional<PowerSensor> power = config.powerSensor()
                .map(sensor -> PowerSensors.open(sensor, detect(config.root())));
        return new LinuxBoard(config, power);
    }

    /**
     * What {@link #open} opens for this selection: {@link BoardSelection#AUTO} becomes
     * {@link BoardSelection#LINUX} on an ARM board and {@link BoardSelection#EMULATED} on any
     * other machine; the others stay as they are.
     */
    public static BoardSelection resolve(BoardSelection selection, Path root) {
        if (selection != BoardSelection.AUTO) {
            return selection;
        }
        return detect(root).kind().equals("linux") ? BoardSelection.EMULATED : BoardSelection.LINUX;
    }

    /** What board the root directory belongs to; never throws. */
    public static BoardInfo detect(Path root) {
        return BoardDetector.detect(new BoardFiles(root));
    }
}
