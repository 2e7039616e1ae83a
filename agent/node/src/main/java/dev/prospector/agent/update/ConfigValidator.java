package dev.prospector.agent.update;

import java.util.List;

/**
 * Checks a pushed configuration against what the program accepts, before anything changes: the
 * same keys and values a start would read (unknown keys, bad durations, sizes, broker URLs, fleet
 * names, hardware settings). The command line implements it (it knows the options); the board
 * daemon is given it by injection and never imports the command line.
 */
@FunctionalInterface
public interface ConfigValidator {
    /** What is wrong with {@code configText} (a {@code key = value} file), one line each; empty if it is good. */
    List<String> problems(String configText);
}
