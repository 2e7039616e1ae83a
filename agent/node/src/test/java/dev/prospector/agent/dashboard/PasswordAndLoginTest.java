package dev.prospector.agent.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The dashboard password's Argon2id hash and the login rate limit. */
class PasswordAndLoginTest {
    @Test
    void theRightPasswordMatchesAWrongOneDoesNotAndEachHashHasItsOwnSalt() {
        String a = PasswordHash.hash("a long enough password".toCharArray());
        String b = PasswordHash.hash("a long enough password".toCharArray());
        assertTrue(a.startsWith("$argon2id$v=19$m=7168,t=5,p=1$"), a);
        assertNotEquals(a, b, "a fresh salt per hash");
        assertTrue(PasswordHash.parse(a).matches("a long enough password".toCharArray()));
        assertFalse(PasswordHash.parse(a).matches("a long enough passworD".toCharArray()));
        assertFalse(PasswordHash.parse(a).matches(new char[0]));
    }

    @Test
    void aHashThatIsNotOursOrAsksForTooMuchMemoryIsRefusedWithWhatToDo() {
        var e = assertThrows(IllegalArgumentException.class, () -> PasswordHash.parse("hunter2"));
        assertTrue(e.getMessage().contains("prospector password"), e.getMessage());
        String greedy =
                "$argon2id$v=19$m=999999,t=5,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        var g = assertThrows(IllegalArgumentException.class, () -> PasswordHash.parse(greedy));
        assertTrue(g.getMessage().contains("at most 65536 KiB"), g.getMessage());
        var s = assertThrows(
                dev.prospector.agent.common.Failure.class,
                () -> new DashboardSettings(8470, "0.0.0.0", Optional.of("nonsense"), false));
        assertTrue(s.getMessage().startsWith("dashboard-password-hash: "), s.getMessage());
    }

    @Test
    void aLanAddressWithoutAPasswordIsRefusedLoopbackIsNot() {
        var lan = new DashboardSettings(8470, "0.0.0.0", Optional.empty(), false);
        var e = assertThrows(dev.prospector.agent.common.Failure.class, lan::address);
        assertTrue(e.getMessage().contains("without a password"), e.getMessage());
        assertTrue(DashboardSettings.loopback(8470).address().isLoopbackAddress());
        assertFalse(DashboardSettings.loopback(8470).needsLogin());
        assertThrows(dev.prospector.agent.common.Failure.class, () -> DashboardSettings.loopback(70000));
    }

    /** A clock the test moves. */
    static final class Manual extends Clock {
        Instant now = Instant.parse("2026-12-01T00:00:00Z");

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void failuresLockAnAddressForLongerEachTimeOthersAndSuccessesAreNotHeld() {
        Manual clock = new Manual();
        LoginGuard g = new LoginGuard(clock);
        for (int i = 0; i < LoginGuard.FREE_FAILURES; i++) {
            g.failed("10.0.0.9");
            assertEquals(Optional.empty(), g.wait("10.0.0.9"), "free failure " + (i + 1));
        }
        g.failed("10.0.0.9");
        assertEquals(Optional.of(LoginGuard.FIRST_LOCK), g.wait("10.0.0.9"));
        assertEquals(Optional.empty(), g.wait("10.0.0.8"), "another address is not held");
        clock.now = clock.now.plus(LoginGuard.FIRST_LOCK);
        assertEquals(Optional.empty(), g.wait("10.0.0.9"), "the lock ends");
        g.failed("10.0.0.9");
        assertEquals(Optional.of(LoginGuard.FIRST_LOCK.multipliedBy(2)), g.wait("10.0.0.9"), "doubled");
        for (int i = 0; i < 20; i++) {
            g.failed("10.0.0.9");
        }
        assertEquals(Optional.of(LoginGuard.MAX_LOCK), g.wait("10.0.0.9"), "at most");
        g.succeeded("10.0.0.9");
        assertEquals(Optional.empty(), g.wait("10.0.0.9"));
        assertTrue(g.startCheck());
        assertFalse(g.startCheck(), "one password check at a time");
        g.endCheck();
        assertTrue(g.startCheck());
        g.endCheck();
        assertEquals(Duration.ofSeconds(30), LoginGuard.FIRST_LOCK);
    }

    @Test
    void jsonIsEscapedForHtmlAndNumbersArePlain() {
        String j = new Json()
                .object()
                .put("a", "</script><b>&\"x\"")
                .put("n", 1e9)
                .put("f", 0.1 + 0.2)
                .put("nan", Double.NaN)
                .key("list")
                .array()
                .value(1)
                .value("two")
                .end()
                .end()
                .toString();
        assertEquals(
                "{\"a\":\"\\u003c/script\\u003e\\u003cb\\u003e\\u0026\\\"x\\\"\",\"n\":1000000000,\"f\":0.3,\"nan\":null,\"list\":[1,\"two\"]}",
                j);
    }

    @Test
    void theQrCodeIsAnSvgOfTheDeviceIdWithAQuietZone() {
        String svg = DashboardServer.qrSvg("pdngpvi77cb7lagzr4vfuolxt");
        assertTrue(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 33 33\""), svg);
        assertTrue(svg.contains("M4,4h1v1h-1z"), "the finder pattern's corner after a 4-module quiet zone");
    }
}
