package dev.prospector.agent.cli;

import dev.prospector.agent.common.Version;
import picocli.CommandLine.IVersionProvider;

/** {@code prospector --version}: the program's version and the Java runtime's. */
public final class VersionProvider implements IVersionProvider {
    @Override
    public String[] getVersion() {
        return new String[] {"prospector " + Version.current(), "Java " + Runtime.version()};
    }
}
