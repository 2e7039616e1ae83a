// The board's dashboard: reads /api/status every few seconds and fills the page. Only textContent
// and SVG elements are written, never HTML from the API, so nothing the board reports can inject markup.
"use strict";
(function () {
  var REFRESH_MS = 3000;
  var SVG = "http://www.w3.org/2000/svg";

  function el(id) { return document.getElementById(id); }
  function text(id, value) { var e = el(id); if (e) { e.textContent = value; } }
  function num(x, digits) { return x === null || x === undefined ? "–" : Number(x).toFixed(digits); }

  function duration(s) {
    s = Math.max(0, Math.floor(s));
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    if (d > 0) { return d + "d " + h + "h"; }
    if (h > 0) { return h + "h " + m + "m"; }
    if (m > 0) { return m + "m " + (s % 60) + "s"; }
    return s + "s";
  }

  function bytes(n) {
    if (n === null || n === undefined) { return "–"; }
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
  }

  function chart(id, values, max, lowBelow) {
    var svg = el(id);
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var n = Math.max(values.length, 24);
    var w = 300 / n;
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      var h = max > 0 ? Math.max(1, 58 * v / max) : 1;
      var r = document.createElementNS(SVG, "rect");
      r.setAttribute("x", String((n - values.length + i) * w + 0.5));
      r.setAttribute("y", String(60 - h));
      r.setAttribute("width", String(Math.max(0.5, w - 1)));
      r.setAttribute("height", String(h));
      if (lowBelow !== null && v < lowBelow) { r.setAttribute("class", "low"); }
      var title = document.createElementNS(SVG, "title");
      title.textContent = String(v);
      r.appendChild(title);
      svg.appendChild(r);
    }
  }

  function render(s) {
    text("device", s.device);
    text("fleet", s.fleet);
    text("version", s.version);
    text("board", s.board.model || s.board.kind);
    text("uptime", duration(s.uptime_seconds));
    text("updated", new Date(s.time).toLocaleTimeString());
    var conn = el("conn");
    conn.textContent = s.connection.connected ? "connected" : "offline";
    conn.className = "pill " + (s.connection.connected ? "ok" : "bad");
    text("delivery", s.connection.delivery);
    text("clock", s.clock.text);
    if (s.last_report) {
      text("last-report", "#" + s.last_report.seq + ", " + duration(s.last_report.age_seconds) + " ago, " + s.last_report.bytes + " bytes");
    }
    var rc = el("last-receipt");
    if (s.last_receipt) {
      rc.textContent = (s.last_receipt.seq !== undefined ? "#" + s.last_receipt.seq + " " : "") + s.last_receipt.text +
        (s.last_receipt.age_seconds !== undefined ? " (" + duration(s.last_receipt.age_seconds) + " ago)" : "");
      rc.className = s.last_receipt.accepted ? "good" : "bad";
    }
    text("made", s.reports.made);
    text("accepted", s.reports.accepted);
    text("rejected", s.reports.rejected);
    text("outbox", s.outbox.pending + " (" + bytes(s.outbox.bytes) + ")");
    text("reconnects", s.connection.reconnects);
    text("reputation", num(s.proofs.reputation, 3));
    text("plot-text", s.plot.text);
    el("plot-bar").style.width = Math.min(100, Math.max(0, s.plot.percent)) + "%";
    text("storage", s.proofs.storage_committed_bytes === null ? "none committed yet" :
      bytes(s.proofs.storage_committed_bytes) + " committed, " + s.proofs.audits_answered + " audit(s) answered");
    text("bandwidth", s.proofs.bandwidth_down_mbps === null && s.proofs.bandwidth_up_mbps === null ? "not measured yet" :
      "down " + num(s.proofs.bandwidth_down_mbps, 1) + " / up " + num(s.proofs.bandwidth_up_mbps, 1) + " Mbit/s");
    text("traffic", s.traffic.down_bytes_per_second === null ? "–" :
      "down " + bytes(s.traffic.down_bytes_per_second) + "/s, up " + bytes(s.traffic.up_bytes_per_second) + "/s");
    text("note", s.proofs.note || "–");
    var h = s.health;
    text("temp", h.temperature_celsius === null ? "unavailable" : num(h.temperature_celsius, 1) + " °C");
    text("supply", h.under_voltage === null ? "unknown" : h.under_voltage ? "UNDER-VOLTAGE now" :
      h.under_voltage_occurred ? "ok now (under-voltage occurred since boot)" : "ok");
    text("throttle", h.throttled === null ? "unknown" : h.throttled ? "throttled now" : "none");
    var w = el("warnings");
    while (w.firstChild) { w.removeChild(w.firstChild); }
    var all = h.warnings.slice();
    if (s.clock.outside_window) { all.push(s.clock.text); }
    all.forEach(function (m) { var p = document.createElement("div"); p.textContent = "⚠ " + m; w.appendChild(p); });
    w.hidden = all.length === 0;
    var epochs = s.epochs.list;
    chart("chart-uptime", epochs.map(function (e) { return Math.round(e.uptime * 100); }), 100, 90);
    var best = epochs.reduce(function (m, e) { return Math.max(m, e.accepted); }, 1);
    chart("chart-score", epochs.map(function (e) { return e.accepted; }), best, null);
  }

  function refresh() {
    fetch("/api/status", { cache: "no-store", credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401 || r.status === 303) { window.location.href = "/login"; return null; }
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (s) { if (s) { render(s); } })
      .catch(function () {
        var conn = el("conn");
        conn.textContent = "board unreachable";
        conn.className = "pill bad";
      })
      .then(function () { setTimeout(refresh, REFRESH_MS); });
  }

  refresh();
})();
