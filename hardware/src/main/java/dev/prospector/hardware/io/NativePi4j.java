package dev.prospector.hardware.io;

import com.pi4j.Pi4J;
import com.pi4j.context.Context;
import com.pi4j.plugin.gpiod.provider.gpio.digital.GpioDDigitalInputProvider;
import com.pi4j.plugin.gpiod.provider.gpio.digital.GpioDDigitalOutputProvider;
import com.pi4j.plugin.linuxfs.provider.i2c.LinuxFsI2CProvider;

/**
 * The only class that touches Pi4J's native plugins; referenced only on ARM boards, so their
 * classes (and libraries) are never loaded on x86.
 */
final class NativePi4j {

    private NativePi4j() {}

    static Context context() {
        return Pi4J.newContextBuilder()
                .noAutoDetect()
                .add(
                        GpioDDigitalInputProvider.newInstance(),
                        GpioDDigitalOutputProvider.newInstance(),
                        LinuxFsI2CProvider.newInstance())
                .build();
    }
}
