package dev.prospector.agent.common;

/** The program's version, from the jar manifest (or "0.1.0-dev" when run from classes). */
public final class Version {
    private Version() {}

    public static String current() {
        String v = Version.class.getPackage().getImplementationVersion();
        return v == null ? "0.1.0-dev" : v;
    }
}
