package dev.prospector.agent.cli;

import com.upokecenter.cbor.CBORObject;
import dev.prospector.attest.Claims;
import dev.prospector.attest.Limits;
import dev.prospector.attest.MalformedReportException;
import dev.prospector.attest.Measurement;
import dev.prospector.attest.MeasurementClaim;
import dev.prospector.attest.Report;
import dev.prospector.attest.UnavailableMeasurement;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"Decode a report and check its signature.",
            "Prints the claims, then `signature: valid` or `signature: invalid`; exits 0 only when valid."})
public final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "FILE", description = "A report written by `prospector report` or taken from the broker.")
    Path file;

    @Option(names = "--json", description = "Print one JSON object instead of a table.")
    boolean json;

    @Override
    public Integer call() {
        byte[] bytes = read(file);
        Report report;
        try {
            report = Report.decode(bytes);
        } catch (MalformedReportException e) {
            throw new UserError(file + " is not a valid Prospector report: " + e.getMessage(), UserError.CHECK_FAILED);
        }
        boolean valid = report.verifySignature();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            CBORObject o = claimsJson(report.claims());
            o.Add("signature", valid ? "valid" : "invalid");
            out.println(o.ToJSONString());
        } else {
            printTable(report.claims(), out);
            out.println("signature: " + (valid ? "valid" : "invalid"));
        }
        out.flush();
        return valid ? 0 : UserError.CHECK_FAILED;
    }

    private static byte[] read(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] bytes = in.readNBytes(Limits.MAX_REPORT_BYTES + 1);
            if (bytes.length > Limits.MAX_REPORT_BYTES) {
                throw new UserError(file + " is larger than a report can be (" + Limits.MAX_REPORT_BYTES
                        + " bytes): is it the right file?", UserError.CHECK_FAILED);
            }
            if (bytes.length == 0) {
                throw new UserError(file + " is empty: is it the right file?", UserError.CHECK_FAILED);
            }
            return bytes;
        } catch (NoSuchFileException e) {
            throw new UserError(file + " does not exist: check the path");
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + e.getMessage());
        }
    }

    static void printTable(Claims c, PrintWriter out) {
        HexFormat hex = HexFormat.of();
        Table t = new Table("CLAIM", "VALUE");
        t.row("device", c.device().value());
        t.row("fleet", c.fleet());
        t.row("seq", c.seq());
        t.row("prev", c.prev().map(hex::formatHex).orElse("(first of chain)"));
        t.row("chain", hex.formatHex(c.chain()));
        c.restart().ifPresent(r -> t.row("restart", r));
        if (c.lost() > 0) {
            t.row("lost", c.lost() + " report(s) dropped unsent (outbox full)");
        }
        if (c.emulated()) {
            t.row("emulated", "yes: made on an emulated board (verifiers refuse it unless --allow-emulated)");
        }
        t.row("iat", c.iat());
        t.row("epoch", c.epoch());
        t.row("nonce", c.nonce().map(hex::formatHex).orElse("(none)"));
        t.row("boot", c.bootId());
        t.row("uptime", c.uptime().toMillis() / 1000.0 + " s");
        t.row("software", c.softwareVersion());
        t.row("config", hex.formatHex(c.configHash()));
        t.row("key", hex.formatHex(c.key()));
        if (!c.rotations().isEmpty()) {
            t.row("rotations", c.rotations().size());
        }
        for (Measurement m : c.measurements()) {
            if (m instanceof MeasurementClaim v) {
                t.row("meas " + v.name(), format(v.value()) + " " + v.unit() + "  (" + v.source() + ")");
            } else if (m instanceof UnavailableMeasurement u) {
                t.row("meas " + u.name(), "unavailable: " + u.reason());
            }
        }
        t.print(out);
    }

    static CBORObject claimsJson(Claims c) {
        HexFormat hex = HexFormat.of();
        CBORObject o = CBORObject.NewOrderedMap()
                .Add("device", c.device().value())
                .Add("fleet", c.fleet())
                .Add("seq", c.seq())
                .Add("prev", c.prev().map(hex::formatHex).map(CBORObject::FromObject).orElse(CBORObject.Null))
                .Add("chain", hex.formatHex(c.chain()))
                .Add("restart", c.restart().map(CBORObject::FromObject).orElse(CBORObject.Null))
                .Add("lost", c.lost())
                .Add("emulated", c.emulated())
                .Add("iat", c.iat().toString())
                .Add("epoch", c.epoch())
                .Add("nonce", c.nonce().map(hex::formatHex).map(CBORObject::FromObject).orElse(CBORObject.Null))
                .Add("boot_id", c.bootId())
                .Add("uptime_s", c.uptime().toMillis() / 1000.0)
                .Add("software", c.softwareVersion())
                .Add("config_hash", hex.formatHex(c.configHash()))
                .Add("key", hex.formatHex(c.key()))
                .Add("rotations", c.rotations().size());
        CBORObject meas = CBORObject.NewArray();
        for (Measurement m : c.measurements()) {
            if (m instanceof MeasurementClaim v) {
                meas.Add(CBORObject.NewOrderedMap().Add("name", v.name()).Add("value", v.value())
                        .Add("unit", v.unit()).Add("source", v.source()));
            } else if (m instanceof UnavailableMeasurement u) {
                meas.Add(CBORObject.NewOrderedMap().Add("name", u.name()).Add("unavailable", u.reason()));
            }
        }
        o.Add("measurements", meas);
        return o;
    }

    static String format(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
