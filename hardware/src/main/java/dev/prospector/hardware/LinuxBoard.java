package dev.prospector.hardware;

import dev.prospector.hardware.board.BoardInfo;
import dev.prospector.hardware.board.PowerSensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A real board (or host) read through /proc and /sys under a root directory, plus an I2C power
 * sensor when one is configured.
 */
public final class LinuxBoard implements Board {

    private final BoardInfo info;
    private final BoundedReads reads;
    private final Optional<PowerSensor> power;

    /**
     * @param config root, data dir, clock, interface and timeout to use
     * @param power the supply sensor, if one is fitted; the board closes it
     */
    public LinuxBoard(BoardConfig config, Optional<PowerSensor> power) {
        BoardFiles files = new BoardFiles(config.root());
        this.info = BoardDetector.detect(files);
        this.power = power;
        SystemReader system = new SystemReader(files);
        HealthReader health = new HealthReader(files);
        NetworkReader network = new NetworkReader(files, config.networkInterface());
        StorageReader storage = new StorageReader(files, config.dataDir());
        List<BoundedReads.Group> groups = new ArrayList<>();
        groups.add(new BoundedReads.Group("system", "/proc", SystemReader.NAMES, system::read));
        groups.add(new BoundedReads.Group("health", "/sys/class/thermal", HealthReader.NAMES, health::read));
        groups.add(new BoundedReads.Group("network", "/sys/class/net", NetworkReader.NAMES, network::read));
        groups.add(new BoundedReads.Group("storage", config.dataDir().toString(), StorageReader.NAMES, storage::read));
        power.ifPresent(p ->
                groups.add(new BoundedReads.Group("power", p.source(), PowerReader.NAMES, new PowerReader(p)::read)));
        this.reads = new BoundedReads("linux", groups, config.clock(), config.readTimeout());
    }

    @Override
    public BoardInfo info() {
        return info;
    }

    @Override
    public Snapshot measure() {
        return reads.measure();
    }

    @Override
    public void close() {
        reads.close();
        power.ifPresent(PowerSensor::close);
    }
}
