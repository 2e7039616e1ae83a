package dev.prospector.hardware.io;

import com.pi4j.Pi4J;
import com.pi4j.context.Context;
import com.pi4j.plugin.mock.platform.MockPlatform;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalInputProvider;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalOutputProvider;
import com.pi4j.plugin.mock.provider.i2c.MockI2CProvider;
import dev.prospector.hardware.board.BoardInfo;
import org.tinylog.Logger;

/**
 * Makes Pi4J contexts, never by auto-detection (which would scan the class path for plugins and
 * could load a native library on any machine).
 *
 * <ul>
 * <li>On an ARM board: digital I/O through the gpiod plugin (the kernel's GPIO character device,
 *     which works on every Pi including the Pi 5, whose header GPIOs sit behind the RP1 chip and
 *     are not reachable by the old memory-mapped or sysfs ways) and I2C through the linuxfs
 *     plugin ({@code /dev/i2c-N}). Their native helpers are loaded here and only here.
 * <li>Anywhere else (x86 hosts, CI, the emulated board): Pi4J's pure-Java mock platform.
 * </ul>
 */
public final class Pi4jContexts {

    private Pi4jContexts() {}

    /** The provider ids a context made here uses for each kind of I/O. */
    public record Providers(String digitalInput, String digitalOutput, String i2c) {}

    public static final Providers MOCK =
            new Providers(MockDigitalInputProvider.ID, MockDigitalOutputProvider.ID, MockI2CProvider.ID);
    public static final Providers NATIVE = new Providers("gpiod-digital-input", "gpiod-digital-output", "linuxfs-i2c");

    /** A context on Pi4J's mock platform: no native code, usable in tests on any machine. */
    public static Context mock() {
        return Pi4J.newContextBuilder()
                .noAutoDetect()
                .add(new MockPlatform())
                .add(
                        MockDigitalInputProvider.newInstance(),
                        MockDigitalOutputProvider.newInstance(),
                        MockI2CProvider.newInstance())
                .build();
    }

    /**
     * Whether {@link #forBoard} would use the native providers: only for a real ARM board and
     * only when this JVM itself runs on ARM (a Pi fixture tree read on x86 stays on the mock).
     */
    public static boolean usesNative(BoardInfo board) {
        return !board.kind().equals("emulated")
                && !board.kind().equals("linux")
                && isArm(board.arch())
                && isArm(System.getProperty("os.arch", ""));
    }

    private static boolean isArm(String arch) {
        return arch.equals("aarch64") || arch.startsWith("arm");
    }

    /** The providers {@link #forBoard} picks for this board. */
    public static Providers providers(BoardInfo board) {
        return usesNative(board) ? NATIVE : MOCK;
    }

    /** The context for this board: native providers on ARM boards, the mock elsewhere. */
    public static Context forBoard(BoardInfo board) {
        if (!usesNative(board)) {
            return mock();
        }
        Logger.info("Pi4J: gpiod for GPIO, linuxfs for I2C on {}", board.model());
        return NativePi4j.context();
    }
}
