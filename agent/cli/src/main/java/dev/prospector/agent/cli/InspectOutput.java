package dev.prospector.agent.cli;

import com.upokecenter.cbor.CBORObject;
import com.upokecenter.cbor.CBORType;
import dev.prospector.agent.logging.SafeText;
import dev.prospector.agent.wire.UnreadableItemException;
import dev.prospector.agent.wire.WireItem;
import dev.prospector.agent.wire.WireMessage;
import dev.prospector.agent.wire.WireMessage.AttestationMessage;
import dev.prospector.agent.wire.WireMessage.BlockMessage;
import dev.prospector.agent.wire.WireMessage.ReceiptMessage;
import dev.prospector.agent.wire.WireMessage.ReportMessage;
import dev.prospector.agent.wire.WireMessage.StateMessage;
import dev.prospector.agent.wire.WireMessage.Undecodable;
import dev.prospector.attest.Claims;
import dev.prospector.attest.Measurement;
import dev.prospector.attest.MeasurementClaim;
import dev.prospector.attest.ReasonCode;
import dev.prospector.attest.Receipt;
import dev.prospector.attest.UnavailableMeasurement;
import dev.prospector.ledger.Attestation;
import dev.prospector.ledger.BlockHeader;
import dev.prospector.ledger.BlockSummary;
import dev.prospector.ledger.InvalidReason;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * How {@code prospector inspect} shows each message: for people a heading line and a table that
 * ends with the signature's verdict; with {@code --json} one object per line, its {@code kind}
 * one of report, receipt, state, block, attestation, unknown (an item that is no valid message)
 * and unreadable (where reading stopped). Text from the network is escaped in tables (JSON escapes
 * it itself), so a message cannot drive the terminal.
 */
final class InspectOutput {
    private static final HexFormat HEX = HexFormat.of();

    private final PrintWriter out;
    private final boolean json;
    private boolean first = true;

    InspectOutput(PrintWriter out, boolean json) {
        this.out = out;
        this.json = json;
    }

    void print(WireMessage m) {
        if (json) {
            out.println(JsonOutput.of(json(m)));
        } else {
            text(m);
        }
        out.flush();
    }

    /** Where reading stopped: the item whose end could not be found. */
    void print(UnreadableItemException e) {
        if (json) {
            out.println(JsonOutput.of(CBORObject.NewOrderedMap()
                    .Add("kind", "unreadable")
                    .Add("message", e.number())
                    .Add("offset", e.offset())
                    .Add("expected", e.looksLike())
                    .Add("error", e.getMessage())));
        } else {
            separate();
            out.println("message " + e.number() + ", byte " + e.offset() + ": not a valid Prospector " + e.looksLike()
                    + ": " + SafeText.escape(e.getMessage()) + "; reading stops here");
        }
        out.flush();
    }

    // ------------------------------------------------------------------ text

    private void text(WireMessage m) {
        separate();
        WireItem item = m.item();
        String where = "message " + item.number() + ", byte " + item.offset() + " (" + item.length() + " bytes): ";
        if (m instanceof Undecodable u) {
            out.println(where + "not a valid Prospector " + u.looksLike() + ": " + SafeText.escape(u.reason()));
            return;
        }
        out.println(where + kind(m));
        Rows t = new Rows();
        String signature;
        if (m instanceof ReportMessage r) {
            claims(r.report().claims(), t);
            signature = r.signatureValid() ? "valid" : "invalid";
        } else if (m instanceof ReceiptMessage r) {
            receipt(r, t);
            signature = switch (r.signature()) {
                case VALID -> "valid";
                case INVALID -> "invalid (not by the --verifier-key)";
                case NOT_CHECKED -> "not checked (no --verifier-key)";
                case UNSIGNED -> "none (unsigned receipt)";
            };
        } else if (m instanceof StateMessage s) {
            state(s, t);
            signature = null; // state messages are not signed
        } else if (m instanceof BlockMessage b) {
            block(b.block(), t);
            signature = b.block().signatureValid() ? "valid" : "invalid";
        } else {
            AttestationMessage a = (AttestationMessage) m;
            attestation(a.attestation(), t);
            signature = a.signatureValid() ? "valid" : "invalid";
        }
        t.table.print(out);
        if (signature != null) {
            out.println("signature: " + signature);
        }
    }

    private void separate() {
        if (!first) {
            out.println();
        }
        first = false;
    }

    private static String kind(WireMessage m) {
        if (m instanceof ReportMessage) {
            return "report";
        } else if (m instanceof ReceiptMessage r) {
            return r.signer().isPresent() ? "receipt (signed)" : "receipt (unsigned)";
        } else if (m instanceof StateMessage s) {
            return s.online() ? "state (online)" : "state (offline)";
        } else if (m instanceof BlockMessage) {
            return "ledger block";
        } else if (m instanceof AttestationMessage) {
            return "ledger attestation";
        }
        return "unknown";
    }

    /** Table rows whose values are escaped: they come from the message. */
    private static final class Rows {
        final Table table = new Table("FIELD", "VALUE");

        void row(String name, Object value) {
            table.row(name, SafeText.escape(String.valueOf(value)));
        }
    }

    private static void claims(Claims c, Rows t) {
        t.row("device", c.device().value());
        t.row("fleet", c.fleet());
        t.row("seq", c.seq());
        t.row("prev", c.prev().map(HEX::formatHex).orElse("(first of chain)"));
        t.row("chain", HEX.formatHex(c.chain()));
        c.restart().ifPresent(r -> t.row("restart", r));
        if (c.lost() > 0) {
            t.row("lost", c.lost() + " report(s) that may never be delivered (outbox full or damaged)");
        }
        if (c.emulated()) {
            t.row("emulated", "yes: made on an emulated board (verifiers refuse it unless --allow-emulated)");
        }
        t.row("iat", c.iat());
        t.row("epoch", c.epoch());
        t.row("nonce", c.nonce().map(HEX::formatHex).orElse("(none)"));
        t.row("boot", c.bootId());
        t.row("uptime", c.uptime().toMillis() / 1000.0 + " s");
        t.row("software", c.softwareVersion());
        t.row("config", HEX.formatHex(c.configHash()));
        t.row("key", HEX.formatHex(c.key()));
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
    }

    private static void receipt(ReceiptMessage m, Rows t) {
        Receipt r = m.receipt();
        t.row(
                "outcome",
                r.ok()
                        ? "accepted"
                        : "rejected: " + r.reason().map(ReasonCode::code).orElse("?"));
        t.row("detail", r.detail());
        t.row("device", r.device().map(Object::toString).orElse("(not named)"));
        t.row("seq", r.seq().isPresent() ? Long.toString(r.seq().getAsLong()) : "(not named)");
        if (r.duplicate()) {
            t.row("duplicate", "yes: the verifier had accepted this report already");
        }
        if (r.gap() > 0) {
            t.row("gap", r.gap() + " report(s) missing before this one");
        }
        if (r.chainRestart()) {
            t.row("restart", "yes: the report starts a new chain");
        }
        t.row("report", HEX.formatHex(r.reportHash()) + " (SHA-256)");
        t.row("at", r.at());
        t.row("window", format(r.window().toMillis() / 1000.0) + " s");
        r.challenge()
                .ifPresent(c -> t.row(
                        "challenge",
                        HEX.formatHex(c.nonce()) + " (answer within "
                                + format(c.ttl().toMillis() / 1000.0) + " s)"));
        m.signer().ifPresent(s -> t.row("signer", s));
    }

    private static void state(StateMessage s, Rows t) {
        t.row("online", s.online());
        t.row("device", s.device().value());
        for (Map.Entry<String, CBORObject> f : s.fields().entrySet()) {
            boolean keyField = f.getKey().equals("key")
                    || f.getKey().equals("key_hex") && !s.fields().containsKey("key");
            if (f.getKey().equals("key_hex") && !keyField && s.key().isPresent()) {
                continue; // the same key as "key" (checked when read), shown there
            } else if (keyField && s.key().isPresent()) {
                t.row(
                        "key",
                        HEX.formatHex(s.key().get()) + " (base64 "
                                + Base64.getEncoder().encodeToString(s.key().get()) + ")");
            } else {
                t.row(
                        f.getKey(),
                        f.getValue().getType() == CBORType.TextString
                                ? f.getValue().AsString()
                                : JsonOutput.of(f.getValue()));
            }
        }
    }

    private static void block(BlockSummary b, Rows t) {
        BlockHeader h = b.header();
        t.row("shard", h.shard());
        t.row("height", h.height());
        t.row("time", Instant.ofEpochMilli(h.timeMillis()));
        t.row("hash", HEX.formatHex(b.hash()));
        t.row("parent", HEX.formatHex(h.parentHash()));
        t.row("proposer", h.proposer().hex());
        t.row(
                "tx root",
                HEX.formatHex(h.txRoot())
                        + (b.txRootMatches() ? " (matches the transactions)" : " (does NOT match the transactions)"));
        t.row("state root", HEX.formatHex(h.stateRoot()));
        t.row(
                "txs",
                h.txCount()
                        + (b.txsByKind().isEmpty()
                                ? ""
                                : " ("
                                        + b.txsByKind().entrySet().stream()
                                                .map(e ->
                                                        e.getKey().name().toLowerCase(Locale.ROOT) + " " + e.getValue())
                                                .collect(Collectors.joining(", "))
                                        + ")"));
        t.row(
                "tx signatures",
                b.invalidTxSignatures() == 0
                        ? "all valid"
                        : b.invalidTxSignatures() + " invalid, the first in transaction "
                                + b.firstInvalidTx().getAsInt());
    }

    private static void attestation(Attestation a, Rows t) {
        t.row("shard", a.shard());
        t.row("height", a.height());
        t.row("block", HEX.formatHex(a.blockHash()));
        t.row(
                "verdict",
                a.valid()
                        ? "valid"
                        : "invalid: " + a.reason().map(InvalidReason::code).orElse("?")
                                + (a.detail().isEmpty() ? "" : " (" + a.detail() + ")"));
        t.row("state root", HEX.formatHex(a.stateRoot()));
        t.row("device", a.device().hex() + " (the key that signs it)");
    }

    static String format(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }

    // ------------------------------------------------------------------ JSON

    private static CBORObject json(WireMessage m) {
        WireItem item = m.item();
        CBORObject o = CBORObject.NewOrderedMap()
                .Add("kind", jsonKind(m))
                .Add("message", item.number())
                .Add("offset", item.offset())
                .Add("bytes", item.length());
        if (m instanceof ReportMessage r) {
            claimsJson(r.report().claims(), o);
            o.Add("signature", r.signatureValid() ? "valid" : "invalid");
        } else if (m instanceof ReceiptMessage r) {
            receiptJson(r, o);
        } else if (m instanceof StateMessage s) {
            o.Add("online", s.online()).Add("device", s.device().value());
            for (Map.Entry<String, CBORObject> f : s.fields().entrySet()) {
                if (f.getKey().equals("key_hex") && s.key().isPresent()) {
                    continue; // the same key as "key" (checked when read), added below in any case
                }
                // A member named like one of ours ("kind", "bytes", …) keeps its value under another name.
                o.Add(o.ContainsKey(f.getKey()) ? "state_" + f.getKey() : f.getKey(), f.getValue());
            }
            s.key().ifPresent(k -> o.Add("key_hex", HEX.formatHex(k)));
        } else if (m instanceof BlockMessage b) {
            blockJson(b.block(), o);
        } else if (m instanceof AttestationMessage a) {
            Attestation at = a.attestation();
            o.Add("shard", at.shard())
                    .Add("height", at.height())
                    .Add("block", HEX.formatHex(at.blockHash()))
                    .Add("valid", at.valid())
                    .Add("reason", nullable(at.reason().map(InvalidReason::code)))
                    .Add("detail", at.detail())
                    .Add("state_root", HEX.formatHex(at.stateRoot()))
                    .Add("device", at.device().hex())
                    .Add("signature", a.signatureValid() ? "valid" : "invalid");
        } else if (m instanceof Undecodable u) {
            o.Add("expected", u.looksLike()).Add("error", u.reason());
        }
        return o;
    }

    private static String jsonKind(WireMessage m) {
        if (m instanceof ReportMessage) {
            return "report";
        } else if (m instanceof ReceiptMessage) {
            return "receipt";
        } else if (m instanceof StateMessage) {
            return "state";
        } else if (m instanceof BlockMessage) {
            return "block";
        } else if (m instanceof AttestationMessage) {
            return "attestation";
        }
        return "unknown";
    }

    private static void claimsJson(Claims c, CBORObject o) {
        o.Add("device", c.device().value())
                .Add("fleet", c.fleet())
                .Add("seq", c.seq())
                .Add("prev", nullable(c.prev().map(HEX::formatHex)))
                .Add("chain", HEX.formatHex(c.chain()))
                .Add("restart", nullable(c.restart()))
                .Add("lost", c.lost())
                .Add("emulated", c.emulated())
                .Add("iat", c.iat().toString())
                .Add("epoch", c.epoch())
                .Add("nonce", nullable(c.nonce().map(HEX::formatHex)))
                .Add("boot_id", c.bootId())
                .Add("uptime_s", c.uptime().toMillis() / 1000.0)
                .Add("software", c.softwareVersion())
                .Add("config_hash", HEX.formatHex(c.configHash()))
                .Add("key", HEX.formatHex(c.key()))
                .Add("rotations", c.rotations().size());
        CBORObject meas = CBORObject.NewArray();
        for (Measurement m : c.measurements()) {
            if (m instanceof MeasurementClaim v) {
                meas.Add(CBORObject.NewOrderedMap()
                        .Add("name", v.name())
                        .Add("value", v.value())
                        .Add("unit", v.unit())
                        .Add("source", v.source()));
            } else if (m instanceof UnavailableMeasurement u) {
                meas.Add(CBORObject.NewOrderedMap().Add("name", u.name()).Add("unavailable", u.reason()));
            }
        }
        o.Add("measurements", meas);
    }

    private static void receiptJson(ReceiptMessage m, CBORObject o) {
        Receipt r = m.receipt();
        o.Add("ok", r.ok())
                .Add("reason", nullable(r.reason().map(ReasonCode::code)))
                .Add("detail", r.detail())
                .Add("device", nullable(r.device().map(Object::toString)))
                .Add("seq", r.seq().isPresent() ? CBORObject.FromObject(r.seq().getAsLong()) : CBORObject.Null)
                .Add("duplicate", r.duplicate())
                .Add("gap", r.gap())
                .Add("restart", r.chainRestart())
                .Add("report", HEX.formatHex(r.reportHash()))
                .Add("at", r.at().toString())
                .Add("window_ms", r.window().toMillis())
                .Add("challenge", nullable(r.challenge().map(c -> HEX.formatHex(c.nonce()))))
                .Add(
                        "challenge_ttl_ms",
                        r.challenge()
                                .map(c -> CBORObject.FromObject(c.ttl().toMillis()))
                                .orElse(CBORObject.Null))
                .Add("signed", m.signer().isPresent())
                .Add("signer", nullable(m.signer()))
                .Add(
                        "signature",
                        switch (m.signature()) {
                            case VALID -> "valid";
                            case INVALID -> "invalid";
                            case NOT_CHECKED -> "not checked";
                            case UNSIGNED -> "none";
                        });
    }

    private static void blockJson(BlockSummary b, CBORObject o) {
        BlockHeader h = b.header();
        CBORObject kinds = CBORObject.NewOrderedMap();
        b.txsByKind().forEach((k, n) -> kinds.Add(k.name().toLowerCase(Locale.ROOT), n));
        o.Add("shard", h.shard())
                .Add("height", h.height())
                .Add("time", Instant.ofEpochMilli(h.timeMillis()).toString())
                .Add("hash", HEX.formatHex(b.hash()))
                .Add("parent", HEX.formatHex(h.parentHash()))
                .Add("proposer", h.proposer().hex())
                .Add("tx_root", HEX.formatHex(h.txRoot()))
                .Add("tx_root_matches", b.txRootMatches())
                .Add("state_root", HEX.formatHex(h.stateRoot()))
                .Add("txs", h.txCount())
                .Add("txs_by_kind", kinds)
                .Add("invalid_tx_signatures", b.invalidTxSignatures())
                .Add("signature", b.signatureValid() ? "valid" : "invalid");
    }

    private static CBORObject nullable(Optional<String> s) {
        return s.map(CBORObject::FromObject).orElse(CBORObject.Null);
    }
}
