package dev.prospector.hardware;

import dev.prospector.hardware.board.BoardInfo;
import dev.prospector.hardware.board.PowerSensor;
import dev.prospector.hardware.io.PowerSensors;
import java.nio.file.Path;
import java.util.Optional;
import org.tinylog.Logger;

/** The one place boards are made. */
public final class Boards {

    private Boards() {}

    /**
     * Opens the board the config selects. {@link BoardSelection#AUTO} reads this machine's /proc
     * and /sys, whatever it is, and never emulates: emulated readings must be asked for by name
     * ({@code --board emulated}), so that a board cannot sign made-up readings by accident.
     */
    public static Board open(BoardConfig config) {
        BoardSelection selection = resolve(config.selection(), config.root());
        if (config.selection() == BoardSelection.AUTO) {
            BoardInfo info = detect(config.root());
            if (info.kind().equals("linux")) {
                Logger.warn(
                        "this machine ({}, {}) is not a Raspberry Pi or ARM board: reading its own /proc and /sys; readings it lacks are reported as unavailable (`prospector hardware` lists them; --board emulated for a demo board)",
                        info.model(),
                        info.arch());
            } else {
                Logger.info("Board {} ({}, {}): reading its /proc and /sys", info.kind(), info.model(), info.arch());
            }
        }
        if (selection == BoardSelection.EMULATED) {
            return new EmulatedBoard(config);
        }
        Optional<PowerSensor> power =
                config.powerSensor().map(sensor -> PowerSensors.open(sensor, detect(config.root())));
        return new LinuxBoard(config, power);
    }

    /**
     * What {@link #open} opens for this selection: {@link BoardSelection#AUTO} becomes
     * {@link BoardSelection#LINUX} on any machine (never the emulated board); the others stay as
     * they are.
     */
    public static BoardSelection resolve(BoardSelection selection, Path root) {
        return selection == BoardSelection.AUTO ? BoardSelection.LINUX : selection;
    }

    /** What board the root directory belongs to; never throws. */
    public static BoardInfo detect(Path root) {
        return BoardDetector.detect(new BoardFiles(root));
    }
}
