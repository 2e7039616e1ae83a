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
        BoardSelection selection = config.selection();
        if (selection == BoardSelection.AUTO) {
            BoardInfo info = detect(config.root());
            selection = info.kind().equals("linux") ? BoardSelection.EMULATED : BoardSelection.LINUX;
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

    /** What board the root directory belongs to; never throws. */
    public static BoardInfo detect(Path root) {
        return BoardDetector.detect(new BoardFiles(root));
    }
}
