package dev.prospector.agent.testing;

import com.upokecenter.cbor.CBORObject;
import java.util.ArrayList;
import java.util.List;

/** Reads what {@code prospector verifier --json} printed: one outcome object per line. */
public final class VerifierOutput {
    private VerifierOutput() {}

    /** Every outcome printed so far by these verifier processes, in order per process. */
    public static List<CBORObject> outcomes(List<ProspectorProcess> verifiers) {
        List<CBORObject> out = new ArrayList<>();
        for (ProspectorProcess v : verifiers) {
            for (String line : v.stdout().lines().toList()) {
                if (line.startsWith("{") && line.endsWith("}")) {
                    out.add(CBORObject.FromJSONString(line));
                }
            }
        }
        return out;
    }
}
