package dev.prospector.hardware;

import java.util.List;
import java.util.Optional;

/**
 * Traffic, errors, link state and speed of one network interface from /sys/class/net: the
 * configured one, or the one the default route goes out of (/proc/net/route, then
 * /proc/net/ipv6_route), looked up every round because Wi-Fi and Ethernet can swap.
 */
final class NetworkReader {

    static final List<String> NAMES =
            List.of("net.rx", "net.tx", "net.rx_errors", "net.tx_errors", "net.link_up", "net.link_speed");

    /** RTF_UP in /proc/net/route's Flags column. */
    private static final int RTF_UP = 0x1;

    private final BoardFiles files;
    private final Optional<String> configured;

    NetworkReader(BoardFiles files, Optional<String> configured) {
        this.files = files;
        this.configured = configured;
    }

    void read(Readings out) {
        String iface;
        if (configured.isPresent()) {
            iface = configured.get();
        } else {
            try {
                iface = defaultRouteInterface(files);
            } catch (Unreadable e) {
                out.unavailable(NAMES, e.reason(), "/proc/net/route");
                return;
            }
        }
        String dir = "/sys/class/net/" + iface;
        if (!files.exists(dir)) {
            out.unavailable(NAMES, "no interface " + iface + " (missing " + dir + ")", dir);
            return;
        }
        counter(out, "net.rx", dir + "/statistics/rx_bytes", "B");
        counter(out, "net.tx", dir + "/statistics/tx_bytes", "B");
        counter(out, "net.rx_errors", dir + "/statistics/rx_errors", "count");
        counter(out, "net.tx_errors", dir + "/statistics/tx_errors", "count");
        boolean up = linkUp(out, dir + "/operstate");
        speed(out, dir + "/speed", up);
    }

    private void counter(Readings out, String name, String path, String unit) {
        try {
            out.value(name, files.counter(path), unit, path);
        } catch (Unreadable e) {
            out.unavailable(name, e.reason(), path);
        }
    }

    private boolean linkUp(Readings out, String path) {
        try {
            String state = files.line(path);
            switch (state) {
                case "up":
                    out.value("net.link_up", 1, "bool", path);
                    return true;
                case "down":
                case "lowerlayerdown":
                case "notpresent":
                case "dormant":
                    out.value("net.link_up", 0, "bool", path);
                    return false;
                case "unknown":
                case "testing":
                    out.unavailable("net.link_up", "the driver reports link state '" + state + "'", path);
                    return false;
                default:
                    throw Unreadable.garbled(path, state);
            }
        } catch (Unreadable e) {
            out.unavailable("net.link_up", e.reason(), path);
            return false;
        }
    }

    private void speed(Readings out, String path, boolean up) {
        try {
            long mbps = files.longValue(path);
            if (mbps <= 0) {
                // -1 (SPEED_UNKNOWN): link down, or a virtual NIC that has no speed.
                out.unavailable(
                        "net.link_speed", up ? "the driver reports no link speed (" + mbps + ")" : "link down", path);
                return;
            }
            out.value("net.link_speed", mbps * 1_000_000.0, "bit/s", path);
        } catch (Unreadable e) {
            // Wi-Fi drivers refuse to read speed (EINVAL); a down link often does too.
            out.unavailable("net.link_speed", up ? e.reason() : "link down", path);
        }
    }

    /**
     * The interface of the default route: the IPv4 route with destination 0.0.0.0/0 that is up
     * and has the lowest metric, else the IPv6 ::/0 route that does not go out of lo.
     */
    static String defaultRouteInterface(BoardFiles files) throws Unreadable {
        String path = "/proc/net/route";
        String text;
        try {
            text = files.text(path);
        } catch (Unreadable e) {
            return ipv6DefaultRoute(files).orElseThrow(() -> e);
        }
        String best = null;
        long bestMetric = Long.MAX_VALUE;
        String[] lines = text.split("\n");
        if (lines.length == 0 || !lines[0].startsWith("Iface")) {
            throw Unreadable.garbled(path, text);
        }
        for (int i = 1; i < lines.length; i++) {
            String[] f = lines[i].trim().split("\\s+");
            if (f.length < 8) {
                continue;
            }
            try {
                int flags = Integer.parseInt(f[3], 16);
                long metric = Long.parseLong(f[6]);
                if (f[1].equals("00000000")
                        && f[7].equals("00000000")
                        && (flags & RTF_UP) != 0
                        && metric < bestMetric) {
                    best = f[0];
                    bestMetric = metric;
                }
            } catch (NumberFormatException e) {
                throw Unreadable.garbled(path, lines[i]);
            }
        }
        if (best != null) {
            return best;
        }
        return ipv6DefaultRoute(files)
                .orElseThrow(() -> new Unreadable(
                        "no default route in /proc/net/route: connect the network or set the interface"));
    }

    private static Optional<String> ipv6DefaultRoute(BoardFiles files) {
        String text;
        try {
            text = files.text("/proc/net/ipv6_route");
        } catch (Unreadable e) {
            return Optional.empty();
        }
        for (String line : text.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 10
                    && f[0].equals("00000000000000000000000000000000")
                    && f[1].equals("00")
                    && !f[9].equals("lo")) {
                return Optional.of(f[9]);
            }
        }
        return Optional.empty();
    }
}
