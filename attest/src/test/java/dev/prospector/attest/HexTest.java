package dev.prospector.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class HexTest {
    @Test
    void encodesTwoLowercaseDigitsPerByte() {
        assertEquals("00ff7f80", Hex.encode(new byte[] {0, -1, 127, -128}));
    }

    @Test
    void decodesEitherCaseAndIgnoresTheLineBreaksOfATestVector() {
        assertArrayEquals(new byte[] {0, -1, 127, -128}, Hex.decode("00FF\n7f 80\n"));
    }

    @Test
    void refusesAnOddNumberOfDigitsAndAnythingThatIsNotADigit() {
        assertThrows(IllegalArgumentException.class, () -> Hex.decode("abc"));
        assertThrows(IllegalArgumentException.class, () -> Hex.decode("0g"));
        assertThrows(IllegalArgumentException.class, () -> Hex.decode("\u0661\u0662")); // Arabic-Indic digits
    }
}
