package dev.prospector.agent.fleet;

import java.time.Instant;
import java.util.Map;

/**
 * A command whose signature, signer role, validity, nonce and target the board has checked (see
 * {@code CommandService}); what a {@link CommandHandler} is given.
 *
 * @param id the command id the operator chose (the result names it)
 * @param name the command's name, e.g. {@code set-config}
 * @param args its arguments as plain values ({@code String}, {@code Long}, {@code Boolean},
 *     {@code Double}, {@code byte[]}, {@code List}, {@code Map<String, Object>})
 * @param issuedAt when the operator signed it
 * @param expiry after when it must not run
 * @param role the role the board gives the key that signed it
 * @param target what it was addressed to: {@code device:<id>}, {@code group:<name>} or {@code all}
 * @param signer the signing operator key's id (hex)
 */
public record SignedCommand(
        String id,
        String name,
        Map<String, Object> args,
        Instant issuedAt,
        Instant expiry,
        Role role,
        String target,
        String signer) {
    public SignedCommand {
        args = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(args));
    }

    /** The argument {@code key} as text, or {@code fallback} when absent. */
    public String text(String key, String fallback) {
        return args.get(key) instanceof String s ? s : fallback;
    }
}
