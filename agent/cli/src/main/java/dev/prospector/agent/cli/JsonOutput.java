package dev.prospector.agent.cli;

import com.upokecenter.cbor.CBORNumber;
import com.upokecenter.cbor.CBORObject;
import com.upokecenter.cbor.CBORType;
import java.math.BigDecimal;
import java.math.MathContext;

/**
 * JSON text for what the commands print ({@code --json}), with numbers as people and scripts
 * expect them: {@code 1000000000}, not {@code 1E+9}, and {@code 0.7253}, not
 * {@code 0.7253000000000001}. Everything else is written as {@link CBORObject#ToJSONString()}
 * writes it (compact, keys in the map's order).
 */
public final class JsonOutput {
    /**
     * Significant digits kept of a floating-point number. A double carries 15-17; the last of them
     * are noise from binary arithmetic ({@code 0.7253000000000001}), and no figure we print is known
     * to 12 digits.
     */
    static final int SIGNIFICANT_DIGITS = 12;

    private static final MathContext ROUNDING = new MathContext(SIGNIFICANT_DIGITS);
    /** Below this a whole double is written as the integer it is (beyond, a double skips integers). */
    private static final double EXACT_INTEGERS = 1e15;

    private JsonOutput() {}

    /** {@code value} as one line of JSON. */
    public static String of(CBORObject value) {
        StringBuilder b = new StringBuilder();
        write(value, b);
        return b.toString();
    }

    /** A double as a JSON number: whole ones without a fraction or exponent, others to 12 digits; NaN and infinities as null. */
    public static String number(double d) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            return "null";
        }
        if (d == Math.rint(d) && Math.abs(d) < EXACT_INTEGERS) {
            return Long.toString((long) d);
        }
        return plain(new BigDecimal(Double.toString(d)).round(ROUNDING));
    }

    private static void write(CBORObject v, StringBuilder b) {
        if (v == null) {
            b.append("null");
        } else if (v.isNumber()) {
            b.append(number(v));
        } else if (v.getType() == CBORType.Map) {
            b.append('{');
            boolean first = true;
            for (CBORObject key : v.getKeys()) {
                if (!first) {
                    b.append(',');
                }
                first = false;
                // JSON keys are strings: a number or other key is written as its JSON text, quoted.
                b.append(
                        key.getType() == CBORType.TextString
                                ? key.ToJSONString()
                                : CBORObject.FromObject(key.ToJSONString()).ToJSONString());
                b.append(':');
                write(v.get(key), b);
            }
            b.append('}');
        } else if (v.getType() == CBORType.Array) {
            b.append('[');
            for (int i = 0; i < v.size(); i++) {
                if (i > 0) {
                    b.append(',');
                }
                write(v.get(i), b);
            }
            b.append(']');
        } else {
            b.append(v.ToJSONString());
        }
    }

    private static String number(CBORObject v) {
        CBORNumber n = v.AsNumber();
        if (n.IsNaN() || n.IsInfinity()) {
            return "null";
        }
        if (v.getType() == CBORType.FloatingPoint) {
            return number(v.AsDoubleValue());
        }
        try {
            return plain(new BigDecimal(n.ToEDecimal().toString())); // integers and exact decimals as they are
        } catch (ArithmeticException e) {
            return number(v.AsDoubleValue()); // a fraction with no finite decimal form (1/3)
        }
    }

    private static String plain(BigDecimal d) {
        return d.signum() == 0 ? "0" : d.stripTrailingZeros().toPlainString();
    }
}
