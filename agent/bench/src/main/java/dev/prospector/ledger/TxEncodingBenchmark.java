package dev.prospector.ledger;

// In the ledger's package (from the bench module) to measure its package-private parts.

import com.upokecenter.cbor.CBORObject;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Locale;

/**
 * Fixed binary layout against a deterministic CBOR map for the same transaction: bytes and decode
 * time. The measurement behind the encoding choice in docs/LEDGER.md; run by
 * {@code prospector bench executor encoding}.
 */
public final class TxEncodingBenchmark {
    private static final int TXS = 10_000;
    private static final int ROUNDS = 15;

    private TxEncodingBenchmark() {}

    static byte[] cbor(Tx t) {
        CBORObject m = CBORObject.NewMap();
        m.Add(1, (int) t.kind().code);
        m.Add(2, t.shard());
        m.Add(3, t.sender().toBytes());
        m.Add(4, t.nonce());
        m.Add(5, t.to().toBytes());
        m.Add(6, t.amount());
        m.Add(7, t.fee());
        m.Add(8, t.signature());
        return m.EncodeToBytes(com.upokecenter.cbor.CBOREncodeOptions.DefaultCtap2Canonical);
    }

    static Tx fromCbor(byte[] b) {
        CBORObject m = CBORObject.DecodeFromBytes(b);
        return new Tx(
                TxKind.fromCode((byte) m.get(1).AsInt32Value()),
                m.get(2).AsInt32Value(),
                Address.of(m.get(3).GetByteString()),
                m.get(4).AsInt64Value(),
                Address.of(m.get(5).GetByteString()),
                m.get(6).AsInt64Value(),
                m.get(7).AsInt64Value(),
                m.get(8).GetByteString());
    }

    /** Measures and prints both encodings' bytes and decode time per transaction. */
    public static void run(PrintWriter out) throws MalformedException {
        Workload w = Workload.start(new Workload.Spec(20_000, TXS, 0, 0, 1));
        Tx[] txs = w.nextTxs(TXS, 0);
        byte[] fixed = new byte[TXS * Tx.SIZE];
        byte[][] cb = new byte[TXS][];
        long cborBytes = 0;
        for (int i = 0; i < TXS; i++) {
            txs[i].encodeTo(fixed, i * Tx.SIZE);
            cb[i] = cbor(txs[i]);
            cborBytes += cb[i].length;
        }
        long[] fixedNs = new long[ROUNDS];
        long[] cborNs = new long[ROUNDS];
        long sink = 0;
        for (int r = 0; r < ROUNDS; r++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < TXS; i++) {
                sink += Tx.decode(fixed, i * Tx.SIZE).nonce();
            }
            long t1 = System.nanoTime();
            for (int i = 0; i < TXS; i++) {
                sink += fromCbor(cb[i]).nonce();
            }
            long t2 = System.nanoTime();
            fixedNs[r] = t1 - t0;
            cborNs[r] = t2 - t1;
        }
        Arrays.sort(fixedNs);
        Arrays.sort(cborNs);
        out.printf(
                Locale.ROOT,
                "fixed: %d bytes/tx, %.0f ns/tx decode%ncbor:  %.1f bytes/tx, %.0f ns/tx decode (checksum %d)%n",
                Tx.SIZE,
                fixedNs[ROUNDS / 2] / (double) TXS,
                cborBytes / (double) TXS,
                cborNs[ROUNDS / 2] / (double) TXS,
                sink & 1);
        out.flush();
    }
}
