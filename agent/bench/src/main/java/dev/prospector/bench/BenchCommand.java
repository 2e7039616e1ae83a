package dev.prospector.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Benchmarks: commands that print figures (docs/BENCHMARKS.md quotes them). */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = {
            "Run a benchmark and print its figures (--json for scripts).",
            "A benchmark with a target exits 1 when a figure misses it."
        },
        subcommands = {
            BenchCryptoCommand.class,
            BenchExecutorCommand.class,
            BenchMeasureCommand.class,
            BenchPosCommand.class,
            BenchTransportCommand.class,
            BenchTransportCommand.Memory.class,
            BenchStartupCommand.class,
            BenchFleetCommand.class
        })
public final class BenchCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(
                spec.commandLine(),
                "missing benchmark: choose crypto, executor, measure, pos, transport, memory, startup or fleet (`prospector bench --help`)");
    }
}
