package dev.prospector.attest;

/**
 * Makes signed reports: assigns seq, prev and chain from {@link ChainState}, encodes the claims
 * deterministically, signs them as a tagged COSE_Sign1, and persists the new chain position before
 * returning. Thread-safe: reports are made one at a time, so seqs are dense and each report's prev
 * is the hash of the one before it.
 */
public final class ReportSigner {
    private final DeviceKeys keys;
    private final ChainState state;

    public ReportSigner(DeviceKeys keys, ChainState state) {
        this.keys = keys;
        this.state = state;
    }

    /**
     * Signs one report. Without a store the chain state is durable before this returns (each
     * report is a checkpoint, see {@link ChainState#checkpointRarely}): if the process dies before
     * the report is sent, the verifier sees a gap, never a reused seq.
     *
     * @throws IllegalArgumentException if the input violates the format (see {@link Claims})
     * @throws StateStorageException    if the chain state cannot be persisted (no report is returned)
     */
    public SignedReport sign(ReportInput input) {
        return sign(input, report -> {});
    }

    /**
     * Signs one report and hands it to {@code store} (the agent's outbox) <em>before</em> the chain
     * position moves. A report that {@code store} made durable is therefore never lost: if the
     * process dies before the chain state is written (at once, or at the next checkpoint),
     * {@link ChainState#reconcile} moves the chain past it at the next start, from the stored
     * report. If {@code store} throws (a full disk), the chain does not advance and the seq is used
     * by the next report instead, so the verifier sees no gap.
     */
    public synchronized SignedReport sign(ReportInput input, java.util.function.Consumer<SignedReport> store) {
        var next = state.next();
        var claims = new Claims(
                keys.deviceId(),
                keys.publicKey(),
                input.fleet(),
                next.seq(),
                next.prev(),
                next.chain(),
                java.time.Instant.ofEpochMilli(input.iat().toEpochMilli()),
                input.epoch(),
                input.nonce(),
                input.bootId(),
                java.time.Duration.ofMillis(input.uptime().toMillis()),
                input.measurements(),
                input.softwareVersion(),
                input.configHash(),
                next.restart(),
                keys.rotations(),
                Math.min(input.lost(), next.seq() - 1),
                input.emulated(),
                input.service());
        byte[] bytes = CoseSign1.sign(keys.deviceId().kid(), claims.encode(), keys);
        var report = new SignedReport(bytes, claims);
        CrashPoint.reach("sign-before-append");
        store.accept(report);
        state.advance(next.seq(), report.hash());
        return report;
    }

    public DeviceKeys keys() {
        return keys;
    }
}
