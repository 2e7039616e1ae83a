package dev.prospector.attest;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A board's answer to a storage audit (claim {@code pos.audit}): the opened leaves, or the board's
 * own error when it could not read its plot (an audit outcome of its own, "unknown"). For each
 * audited index {@code i} in the order of {@link Audit#indices}, the openings are leaf {@code i},
 * then, for {@code i > 0}, leaf {@code i - 1} and leaf {@code p(i)}: the verifier recomputes leaf
 * {@code i} from the other two. Encoded as {@code {"open": [[leaf, [sibling, ...]], ...]}} or
 * {@code {"err": tstr}}.
 */
public record AuditAnswer(List<Opening> openings, Optional<String> error) {
    /** Most openings in an answer: three for each of {@link Audit#MAX_LEAVES} indices. */
    public static final int MAX_OPENINGS = 3 * Audit.MAX_LEAVES;

    /** One leaf with its Merkle path (siblings from the leaf's level up). */
    public record Opening(byte[] leaf, List<byte[]> path) {
        public Opening {
            leaf = leaf.clone();
            path = path.stream().map(byte[]::clone).toList();
        }

        @Override
        public byte[] leaf() {
            return leaf.clone();
        }
    }

    public AuditAnswer {
        openings = List.copyOf(openings);
        if (error.isPresent() == !openings.isEmpty()) {
            throw new IllegalArgumentException("an audit answer has openings or an error, not both");
        }
        if (openings.size() > MAX_OPENINGS) {
            throw new IllegalArgumentException("at most " + MAX_OPENINGS + " openings");
        }
    }

    public static AuditAnswer of(List<Opening> openings) {
        return new AuditAnswer(openings, Optional.empty());
    }

    /** The board could not answer: {@code why}, one sentence. */
    public static AuditAnswer failed(String why) {
        String text = why.length() > 200 ? why.substring(0, 200) : why;
        return new AuditAnswer(List.of(), Optional.of(text.isBlank() ? "unknown error" : text));
    }

    Cbor.MapValue toCbor() {
        if (error.isPresent()) {
            return Cbor.map().put("err", new Cbor.Text(error.get())).build();
        }
        var items = new ArrayList<Cbor.Value>();
        for (Opening o : openings) {
            var path = new ArrayList<Cbor.Value>();
            o.path().forEach(s -> path.add(new Cbor.Bytes(s)));
            items.add(new Cbor.Array(List.of(new Cbor.Bytes(o.leaf), new Cbor.Array(path))));
        }
        return Cbor.map().put("open", new Cbor.Array(items)).build();
    }

    static AuditAnswer fromCbor(Cbor.Value v) throws MalformedReportException {
        var m = ServiceEvidence.map(v, "pos.audit", 1);
        if (m.get("err").isPresent()) {
            if (!(m.get("err").get() instanceof Cbor.Text t)
                    || t.value().isEmpty()
                    || t.value().length() > 256) {
                throw new MalformedReportException("claim pos.audit.err is not a text of 1 to 256 characters");
            }
            return failed(t.value());
        }
        if (!(m.get("open").orElse(null) instanceof Cbor.Array a)
                || a.items().isEmpty()
                || a.items().size() > MAX_OPENINGS) {
            throw new MalformedReportException(
                    "claim pos.audit has neither err nor an array of 1 to " + MAX_OPENINGS + " openings");
        }
        var out = new ArrayList<Opening>();
        for (Cbor.Value item : a.items()) {
            if (!(item instanceof Cbor.Array pair)
                    || pair.items().size() != 2
                    || !(pair.items().get(0) instanceof Cbor.Bytes leaf)
                    || leaf.value().length > Plot.MAX_LEAF_SIZE
                    || !(pair.items().get(1) instanceof Cbor.Array path)
                    || path.items().size() > Plot.MAX_DEPTH) {
                throw new MalformedReportException("claim pos.audit: an opening is [leaf (at most " + Plot.MAX_LEAF_SIZE
                        + " bytes), [at most " + Plot.MAX_DEPTH + " siblings]]");
            }
            var siblings = new ArrayList<byte[]>();
            for (Cbor.Value s : path.items()) {
                if (!(s instanceof Cbor.Bytes b) || b.value().length != Plot.CHUNK) {
                    throw new MalformedReportException("claim pos.audit: a sibling is a 32-byte string");
                }
                siblings.add(b.value());
            }
            out.add(new Opening(leaf.value(), siblings));
        }
        return of(out);
    }
}
