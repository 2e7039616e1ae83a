package dev.prospector.agent.dashboard;

import com.upokecenter.cbor.CBORObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A minimal Chrome DevTools Protocol client over the JDK's own WebSocket: commands with their
 * results, and every event kept for the test to look at (console messages, exceptions, loads).
 */
final class Cdp implements AutoCloseable {
    private final WebSocket socket;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<CBORObject>> pending = new ConcurrentHashMap<>();
    final List<CBORObject> events = new CopyOnWriteArrayList<>();

    private Cdp(WebSocket socket) {
        this.socket = socket;
    }

    static Cdp connect(String webSocketUrl) throws Exception {
        Cdp[] holder = new Cdp[1];
        StringBuilder partial = new StringBuilder();
        WebSocket ws = HttpClient.newHttpClient()
                .newWebSocketBuilder()
                .buildAsync(URI.create(webSocketUrl), new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                        partial.append(data);
                        if (last) {
                            String message = partial.toString();
                            partial.setLength(0);
                            holder[0].receive(CBORObject.FromJSONString(message));
                        }
                        w.request(1);
                        return null;
                    }
                })
                .get(30, TimeUnit.SECONDS);
        holder[0] = new Cdp(ws);
        return holder[0];
    }

    private void receive(CBORObject m) {
        CBORObject id = m.get("id");
        if (id != null) {
            CompletableFuture<CBORObject> f = pending.remove(id.AsInt32Value());
            if (f != null) {
                if (m.get("error") != null) {
                    f.completeExceptionally(new IllegalStateException("CDP error: " + m.get("error")));
                } else {
                    f.complete(m.get("result"));
                }
            }
        } else {
            events.add(m);
        }
    }

    CBORObject send(String method, CBORObject params) throws Exception {
        int id = ids.incrementAndGet();
        CompletableFuture<CBORObject> f = new CompletableFuture<>();
        pending.put(id, f);
        CBORObject m =
                CBORObject.NewOrderedMap().Add("id", id).Add("method", method).Add("params", params);
        socket.sendText(m.ToJSONString(), true).get(30, TimeUnit.SECONDS);
        return f.get(60, TimeUnit.SECONDS);
    }

    CBORObject send(String method) throws Exception {
        return send(method, CBORObject.NewMap());
    }

    /** The value of a JavaScript expression in the page. */
    String eval(String expression) throws Exception {
        CBORObject r = send(
                "Runtime.evaluate",
                CBORObject.NewMap().Add("expression", expression).Add("returnByValue", true));
        CBORObject v = r.get("result").get("value");
        return v == null || v.isNull()
                ? null
                : v.getType() == com.upokecenter.cbor.CBORType.TextString ? v.AsString() : v.ToJSONString();
    }

    boolean sawEvent(String method) {
        return events.stream().anyMatch(e -> method.equals(e.get("method").AsString()));
    }

    @Override
    public void close() {
        socket.abort();
    }
}
