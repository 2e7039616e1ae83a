package dev.prospector.agent.dashboard;

import dev.prospector.agent.common.Version;
import dev.prospector.agent.node.AgentNode;
import dev.prospector.agent.node.NodeStats;
import dev.prospector.agent.pos.PlotStore;
import dev.prospector.attest.ClockCheck;
import dev.prospector.attest.ReasonCode;
import dev.prospector.attest.Receipt;
import dev.prospector.hardware.Reading;
import dev.prospector.hardware.Snapshot;
import dev.prospector.hardware.board.BoardInfo;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The dashboard's answers, built afresh per request from the node's counters and the
 * {@link BoardRecord}: {@code /api/status}, {@code /api/reports}, {@code /api/hardware} (JSON) and
 * {@code /metrics} (Prometheus text format 0.0.4). Nothing here reads a key: the node is asked for
 * its device id, fleet, counters, clock check and last receipt only, so no answer can carry key
 * material.
 */
final class StatusView {
    /** Temperature above which the page warns (a Pi starts soft throttling at 80 °C). */
    static final double HOT_CELSIUS = 75;

    private final AgentNode node;
    private final BoardRecord record;
    private final Clock clock;

    StatusView(AgentNode node, BoardRecord record, Clock clock) {
        this.node = node;
        this.record = record;
        this.clock = clock;
    }

    String status() {
        Instant now = clock.instant();
        NodeStats s = node.stats();
        BoardInfo info = node.boardInfo();
        Json j = new Json().object();
        j.put("device", node.device()).put("fleet", node.fleet()).put("version", Version.current());
        j.key("board")
                .object()
                .put("kind", info.kind())
                .put("model", info.model())
                .end();
        j.put("started", record.started().toString());
        j.put("uptime_seconds", Duration.between(record.started(), now).toSeconds());
        j.put("time", now.toString());
        j.key("connection")
                .object()
                .put("connected", s.connected())
                .put("connects", record.connects())
                .put("reconnects", record.reconnects())
                .put("delivery", s.endToEnd() ? "end-to-end (signed receipts)" : "broker acknowledgement")
                .end();
        Optional<ClockCheck> cc = node.clockCheck();
        j.key("clock").object();
        if (cc.isPresent()) {
            j.put("offset_ms", cc.get().offset().toMillis())
                    .put("window_ms", cc.get().window().toMillis())
                    .put("outside_window", cc.get().outsideWindow())
                    .put("text", cc.get().describe());
        } else {
            j.key("offset_ms").nul().put("text", "not checked yet: no receipt from a trusted verifier");
        }
        j.end();
        List<BoardRecord.ReportLine> lines = record.reports();
        j.key("last_report");
        if (lines.isEmpty()) {
            j.nul();
        } else {
            line(j, lines.get(lines.size() - 1), now);
        }
        j.key("last_receipt");
        Optional<Receipt> last = node.lastReceipt();
        if (last.isEmpty()) {
            j.nul();
        } else {
            Receipt r = last.get();
            j.object().put("accepted", r.ok());
            r.seq().ifPresent(seq -> j.put("seq", seq));
            j.put("reason", r.reason().map(ReasonCode::code).orElse(null))
                    .put(
                            "text",
                            r.ok()
                                    ? (r.duplicate() ? "accepted (a copy of one accepted before)" : "accepted")
                                    : "rejected: "
                                            + r.reason()
                                                    .map(BoardRecord::plainWords)
                                                    .orElse("no reason given"))
                    .put("detail", r.detail())
                    .put("verifier_time", r.at().toString());
            record.lastReceiptAt()
                    .ifPresent(at -> j.put("received", at.toString())
                            .put("age_seconds", Duration.between(at, now).toMillis() / 1000.0));
            r.service().ifPresent(x -> j.put("service", x));
            r.disqualified().ifPresent(x -> j.put("disqualified", x));
            j.end();
        }
        j.key("reports")
                .object()
                .put("made", s.made())
                .put("sent", s.sent())
                .put("accepted", s.delivered())
                .put("rejected", s.rejected())
                .put("pending", s.pending())
                .put("lost", s.lost())
                .put("publishes", s.publishes())
                .put("receipts_refused", s.receiptsRefused())
                .put("receipts_unmatched", s.receiptsUnmatched());
        j.key("rejected_by_reason").object();
        for (Map.Entry<ReasonCode, Long> e : record.rejections().entrySet()) {
            j.put(e.getKey().code(), e.getValue());
        }
        j.end().end();
        j.key("outbox")
                .object()
                .put("pending", s.pending())
                .put("bytes", node.outbox().pendingBytes())
                .end();
        PlotStore.Progress p = s.plot();
        j.key("plot")
                .object()
                .put("state", p.state().name().toLowerCase(Locale.ROOT))
                .put("percent", round1(p.percent()))
                .put("bytes_done", p.bytesDone())
                .put("bytes_total", p.bytesTotal())
                .put("mib_per_second", round1(p.mibPerSecond()))
                .put("seconds_left", p.timeLeft().toSeconds())
                .put("text", plotText(p))
                .end();
        j.key("proofs").object().put("audits_answered", s.auditsAnswered()).put("bandwidth_tests", s.bandwidthTests());
        j.key("reputation");
        record.reputation().ifPresentOrElse(j::value, j::nul);
        j.key("storage_committed_bytes");
        Optional<Long> committed = record.committedBytes();
        if (committed.isPresent()) {
            j.value(committed.get());
        } else if (node.plot().commitment().isPresent()) {
            j.value(node.plot().commitment().get().bytes());
        } else {
            j.nul();
        }
        double[] bw = record.bandwidthTest().orElse(new double[] {Double.NaN, Double.NaN});
        j.put("bandwidth_down_mbps", bw[0]).put("bandwidth_up_mbps", bw[1]);
        j.put("note", record.serviceNote().orElse(null)).end();
        double[] rates = record.trafficRates().orElse(new double[] {Double.NaN, Double.NaN});
        j.key("traffic")
                .object()
                .put("down_bytes_per_second", round1(rates[0]))
                .put("up_bytes_per_second", round1(rates[1]))
                .end();
        j.key("health");
        health(j);
        j.key("epochs").object().put("length_seconds", 3600).key("list").array();
        for (BoardRecord.Epoch e : record.epochs()) {
            j.object()
                    .put("start", e.start().toString())
                    .put("uptime", round3(e.uptime()))
                    .put("accepted", e.accepted())
                    .put("rejected", e.rejected())
                    .end();
        }
        j.end().end();
        return j.end().toString();
    }

    /** Temperature, supply and throttling from the last round of measurements, with warnings in words. */
    private void health(Json j) {
        Optional<Snapshot> snap = record.lastSnapshot();
        j.object();
        List<String> warnings = new ArrayList<>();
        Optional<Double> temp = snap.flatMap(x -> x.value("temperature"));
        j.key("temperature_celsius");
        temp.ifPresentOrElse(j::value, j::nul);
        temp.filter(t -> t >= HOT_CELSIUS)
                .ifPresent(t -> warnings.add(String.format(
                        Locale.ROOT, "hot: %.1f °C (a Pi slows down from 80 °C): give it air or a heatsink", t)));
        for (String flag : List.of("under_voltage", "throttled", "under_voltage_occurred", "throttled_occurred")) {
            Optional<Double> v = snap.flatMap(x -> x.value(flag));
            j.key(flag);
            if (v.isPresent()) {
                j.value(v.get() != 0);
            } else {
                j.nul();
            }
        }
        if (snap.flatMap(x -> x.value("under_voltage")).orElse(0.0) != 0) {
            warnings.add("under-voltage now: use a better power supply (5.1 V, 3 A for a Pi 4) and a short cable");
        } else if (snap.flatMap(x -> x.value("under_voltage_occurred")).orElse(0.0) != 0) {
            warnings.add("under-voltage occurred since boot: the power supply is marginal");
        }
        if (snap.flatMap(x -> x.value("throttled")).orElse(0.0) != 0) {
            warnings.add("the CPU is throttled now");
        }
        j.key("warnings").array();
        warnings.forEach(j::value);
        j.end();
        j.put("measured", snap.map(x -> x.time().toString()).orElse(null));
        j.end();
    }

    String reports() {
        Instant now = clock.instant();
        Json j = new Json().object().put("device", node.device()).key("reports").array();
        List<BoardRecord.ReportLine> lines = new ArrayList<>(record.reports());
        java.util.Collections.reverse(lines);
        for (BoardRecord.ReportLine l : lines) {
            line(j, l, now);
        }
        return j.end().end().toString();
    }

    private static void line(Json j, BoardRecord.ReportLine l, Instant now) {
        j.object().put("seq", l.seq()).put("made", l.made().toString()).put("bytes", l.bytes());
        j.put(
                "status",
                l.accepted().isEmpty() ? "awaiting receipt" : l.accepted().get() ? "accepted" : "rejected");
        l.reason().ifPresent(r -> j.put("reason", r.code()).put("text", BoardRecord.plainWords(r)));
        if (!l.detail().isEmpty()) {
            j.put("detail", l.detail());
        }
        l.receiptAt().ifPresent(at -> j.put("receipt", at.toString()));
        j.put("age_seconds", Duration.between(l.made(), now).toSeconds());
        j.end();
    }

    String hardware() {
        Optional<Snapshot> snap = record.lastSnapshot();
        Json j = new Json().object().put("device", node.device());
        BoardInfo info = node.boardInfo();
        j.key("board")
                .object()
                .put("kind", info.kind())
                .put("model", info.model())
                .put("arch", info.arch())
                .end();
        j.put("measured", snap.map(s -> s.time().toString()).orElse(null));
        j.key("health");
        health(j);
        j.key("readings").array();
        for (Reading r : snap.map(Snapshot::readings).orElse(List.of())) {
            j.object().put("name", r.name());
            if (r instanceof Reading.Value v) {
                j.put("value", v.value()).put("unit", v.unit());
            } else if (r instanceof Reading.Unavailable u) {
                j.key("value").nul().put("unavailable", u.reason());
            }
            j.put("source", r.source()).end();
        }
        return j.end().end().toString();
    }

    /**
     * The Prometheus text exposition (format 0.0.4): counters end in {@code _total}, units in the
     * name in base units (bytes, seconds, celsius), one HELP and TYPE per family.
     */
    String metrics() {
        Instant now = clock.instant();
        NodeStats s = node.stats();
        StringBuilder m = new StringBuilder(4096);
        String dev = "{device=\"" + label(node.device()) + "\"}";
        family(m, "prospector_info", "gauge", "The agent's version and board; the value is always 1.");
        m.append("prospector_info{device=\"")
                .append(label(node.device()))
                .append("\",fleet=\"")
                .append(label(node.fleet()))
                .append("\",version=\"")
                .append(label(Version.current()))
                .append("\",board=\"")
                .append(label(node.boardInfo().kind()))
                .append("\"} 1\n");
        counter(m, "prospector_reports_made_total", "Reports signed and stored in the outbox.", dev, s.made());
        counter(m, "prospector_reports_sent_total", "Reports the broker acknowledged at least once.", dev, s.sent());
        counter(m, "prospector_reports_accepted_total", "Reports confirmed delivered (accepted).", dev, s.delivered());
        counter(
                m,
                "prospector_report_publishes_total",
                "Report publishes, counting every re-send.",
                dev,
                s.publishes());
        counter(
                m,
                "prospector_reports_lost_total",
                "Reports lost (outbox full or damaged) and declared.",
                dev,
                s.lost());
        family(
                m,
                "prospector_reports_rejected_total",
                "counter",
                "Rejection receipts from a trusted verifier, by reason.");
        Map<ReasonCode, Long> rejections = record.rejections();
        for (ReasonCode r : ReasonCode.values()) {
            m.append("prospector_reports_rejected_total{device=\"")
                    .append(label(node.device()))
                    .append("\",reason=\"")
                    .append(r.code())
                    .append("\"} ")
                    .append(rejections.getOrDefault(r, 0L))
                    .append('\n');
        }
        counter(
                m,
                "prospector_receipts_refused_total",
                "Messages on the receipt topic not signed by a trusted verifier.",
                dev,
                s.receiptsRefused());
        gauge(m, "prospector_outbox_reports", "Reports in the outbox awaiting delivery.", dev, s.pending());
        gauge(m, "prospector_outbox_backlog_bytes", "Bytes of reports in the outbox awaiting delivery.", dev, (double)
                node.outbox().pendingBytes());
        gauge(m, "prospector_broker_connected", "1 while the broker connection is up.", dev, s.connected() ? 1 : 0);
        counter(
                m,
                "prospector_broker_reconnects_total",
                "Broker connections made after the first.",
                dev,
                record.reconnects());
        gauge(
                m,
                "prospector_start_time_seconds",
                "When the agent started (Unix time).",
                dev,
                record.started().toEpochMilli() / 1000.0);
        double age = record.lastReceiptAt()
                .map(at -> Duration.between(at, now).toMillis() / 1000.0)
                .orElse(Double.NaN);
        gauge(
                m,
                "prospector_last_receipt_age_seconds",
                "Seconds since the last receipt that counted (NaN: none yet).",
                dev,
                age);
        double offset =
                node.clockCheck().map(c -> c.offset().toMillis() / 1000.0).orElse(Double.NaN);
        gauge(
                m,
                "prospector_clock_offset_seconds",
                "The board clock's offset from the verifier's (NaN: not checked yet).",
                dev,
                offset);
        gauge(
                m,
                "prospector_audit_reputation_ratio",
                "Audit reputation as the verifier last said it, 0 to 1 (NaN: not yet).",
                dev,
                record.reputation().orElse(Double.NaN));
        counter(
                m,
                "prospector_audits_answered_total",
                "Storage audits answered with openings.",
                dev,
                s.auditsAnswered());
        counter(m, "prospector_bandwidth_tests_total", "Bandwidth tests run.", dev, s.bandwidthTests());
        PlotStore.Progress p = s.plot();
        gauge(
                m,
                "prospector_plot_progress_ratio",
                "Share of the plot written, 0 to 1.",
                dev,
                p.bytesTotal() == 0 ? 0 : (double) p.bytesDone() / p.bytesTotal());
        gauge(m, "prospector_plot_size_bytes", "Size of the plot (0: no plot).", dev, (double) p.bytesTotal());
        Optional<Snapshot> snap = record.lastSnapshot();
        gauge(
                m,
                "prospector_temperature_celsius",
                "SoC temperature at the last measurement (NaN: unavailable).",
                dev,
                snap.flatMap(x -> x.value("temperature")).orElse(Double.NaN));
        gauge(
                m,
                "prospector_under_voltage",
                "1 while the supply is under-voltage (NaN: unknown).",
                dev,
                snap.flatMap(x -> x.value("under_voltage")).orElse(Double.NaN));
        gauge(
                m,
                "prospector_under_voltage_occurred",
                "1 if under-voltage occurred since boot (NaN: unknown).",
                dev,
                snap.flatMap(x -> x.value("under_voltage_occurred")).orElse(Double.NaN));
        gauge(
                m,
                "prospector_throttled",
                "1 while the CPU is throttled (NaN: unknown).",
                dev,
                snap.flatMap(x -> x.value("throttled")).orElse(Double.NaN));
        return m.toString();
    }

    private static void family(StringBuilder m, String name, String type, String help) {
        m.append("# HELP ").append(name).append(' ').append(help).append('\n');
        m.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void counter(StringBuilder m, String name, String help, String labels, long v) {
        family(m, name, "counter", help);
        m.append(name).append(labels).append(' ').append(v).append('\n');
    }

    private static void gauge(StringBuilder m, String name, String help, String labels, double v) {
        family(m, name, "gauge", help);
        m.append(name).append(labels).append(' ').append(value(v)).append('\n');
    }

    static String value(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "+Inf" : "-Inf";
        }
        return Json.number(v);
    }

    /** A label value escaped as the text format asks (backslash, quote, newline). */
    static String label(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    /** The plot in words; a finished plot's size in KiB, MiB or GiB (a small plot is not "0 MiB"). */
    static String plotText(PlotStore.Progress p) {
        if (p.state() != PlotStore.State.DONE) {
            return p.toString();
        }
        long b = p.bytesTotal();
        String size = b >= 1L << 30 ? (b >> 30) + " GiB" : b >= 1L << 20 ? (b >> 20) + " MiB" : (b >> 10) + " KiB";
        return "plot of " + size + " done";
    }

    private static double round1(double d) {
        return Math.round(d * 10) / 10.0;
    }

    private static double round3(double d) {
        return Math.round(d * 1000) / 1000.0;
    }
}
