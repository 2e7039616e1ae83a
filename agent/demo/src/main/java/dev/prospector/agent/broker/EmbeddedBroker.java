package dev.prospector.agent.broker;

import dev.prospector.agent.common.Failure;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.net.InetAddress;
import java.net.MalformedURLException;
import java.net.ServerSocket;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.tinylog.Logger;

/**
 * An MQTT 5 broker inside this JVM, for {@code prospector demo} and the network side.
 *
 * <p>The broker is HiveMQ CE. Its 50-odd jars (Netty, Guice, RocksDB, logback, an older Bouncy
 * Castle) are loaded in a class loader of their own whose parent is the platform loader, so none
 * of them is visible to the agent and none of ours to it; the agent talks to it only through the
 * four methods of {@code com.hivemq.embedded.EmbeddedHiveMQ}. A board never loads it. The jars
 * are found by {@link BrokerRuntime#locate()}.
 *
 * <p>It listens on loopback only, keeps everything in memory and sends no usage statistics.
 */
public final class EmbeddedBroker implements AutoCloseable {
    private static final String HIVEMQ = "com.hivemq.embedded.EmbeddedHiveMQ";
    /** How long start-up and shutdown may take before we give up. */
    private static final long START_STOP_TIMEOUT_SECONDS = 60;
    /** Attempts at binding a free port (another process may take the one we picked). */
    private static final int BIND_ATTEMPTS = 3;

    private final URLClassLoader loader;
    private final Object hivemq;
    private final Path workDir;
    private final int port;

    private EmbeddedBroker(URLClassLoader loader, Object hivemq, Path workDir, int port) {
        this.loader = loader;
        this.hivemq = hivemq;
        this.workDir = workDir;
        this.port = port;
    }

    /** Starts a broker on a free port of 127.0.0.1. */
    public static EmbeddedBroker startOnFreePort() {
        RuntimeException last = null;
        for (int attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
            try {
                return start(freeLoopbackPort());
            } catch (BindFailed e) {
                last = e;
            }
        }
        throw new Failure(
                "could not start the embedded broker on a free loopback port: " + last.getMessage(),
                Failure.Kind.UNAVAILABLE,
                last);
    }

    /** Starts a broker on the given port of 127.0.0.1. */
    public static EmbeddedBroker start(int port) {
        List<Path> jars = BrokerRuntime.locate();
        Path work;
        try {
            work = Files.createTempDirectory("prospector-broker-");
            Files.createDirectories(work.resolve("extensions"));
            Files.createDirectories(work.resolve("data"));
            Files.writeString(work.resolve("config.xml"), config(port));
            Files.writeString(work.resolve("logback.xml"), LOGBACK);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the embedded broker's folder", e);
        }
        URLClassLoader loader = new URLClassLoader("embedded-broker", urls(jars), ClassLoader.getPlatformClassLoader());
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(loader);
        // Only the broker's class loader has logback; point it at our quiet configuration before
        // HiveMQ's own start-up logging begins.
        System.setProperty(
                "logback.configurationFile", work.resolve("logback.xml").toString());
        try {
            Class<?> hive = loader.loadClass(HIVEMQ);
            Object builder = hive.getMethod("builder").invoke(null);
            Class<?> builderType = builder.getClass();
            builder = call(builderType, builder, "withConfigurationFolder", work);
            builder = call(builderType, builder, "withDataFolder", work.resolve("data"));
            builder = call(builderType, builder, "withExtensionsFolder", work.resolve("extensions"));
            Object broker = builderType.getMethod("build").invoke(builder);
            CompletableFuture<?> started =
                    (CompletableFuture<?>) hive.getMethod("start").invoke(broker);
            try {
                started.get(START_STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                closeQuietly(hive, broker);
                throw new BindFailed("port " + port + ": " + rootMessage(e));
            }
            Logger.debug("embedded broker listening on 127.0.0.1:{}", port);
            return new EmbeddedBroker(loader, broker, work, port);
        } catch (ReflectiveOperationException | ClassCastException e) {
            throw new Failure(
                    "the embedded broker's jars at " + jars.get(0).getParent() + " are not a usable HiveMQ CE runtime ("
                            + e + "): rebuild with `mvn package`",
                    Failure.Kind.UNAVAILABLE,
                    e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failure("interrupted while starting the embedded broker", Failure.Kind.UNAVAILABLE, e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new Failure(
                    "the embedded broker did not start within " + START_STOP_TIMEOUT_SECONDS + " s",
                    Failure.Kind.UNAVAILABLE,
                    e);
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    /** The broker's URL for clients, e.g. {@code tcp://127.0.0.1:41234}. */
    public String url() {
        return "tcp://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    @Override
    public void close() {
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(loader);
        try {
            Class<?> hive = loader.loadClass(HIVEMQ);
            CompletableFuture<?> stopped =
                    (CompletableFuture<?>) hive.getMethod("stop").invoke(hivemq);
            stopped.get(START_STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            closeQuietly(hive, hivemq);
        } catch (Exception e) {
            Logger.warn("embedded broker did not stop cleanly: {}", e.toString());
        } finally {
            thread.setContextClassLoader(previous);
            removeLoggingBridges();
            try {
                loader.close();
            } catch (IOException e) {
                Logger.debug("closing the broker class loader: {}", e.toString());
            }
            deleteTree(workDir);
        }
    }

    /**
     * HiveMQ routes java.util.logging into its own logback (SLF4JBridgeHandler on JUL's root
     * logger). Once its class loader is closed, that handler would fail every JUL log line in this
     * JVM with NoClassDefFoundError (Paho logs through JUL when a connection is taken over), so
     * handlers of the broker's class loader are removed with it.
     */
    private void removeLoggingBridges() {
        java.util.logging.Logger root =
                java.util.logging.LogManager.getLogManager().getLogger("");
        if (root == null) {
            return;
        }
        for (java.util.logging.Handler h : root.getHandlers()) {
            if (h.getClass().getClassLoader() == loader) {
                root.removeHandler(h);
            }
        }
    }

    private static Object call(Class<?> type, Object target, String method, Path arg)
            throws ReflectiveOperationException {
        return type.getMethod(method, Path.class).invoke(target, arg);
    }

    private static void closeQuietly(Class<?> hive, Object broker) {
        try {
            hive.getMethod("close").invoke(broker);
        } catch (InvocationTargetException | IllegalAccessException | NoSuchMethodException e) {
            Logger.debug("closing the embedded broker: {}", e.toString());
        }
    }

    private static URL[] urls(List<Path> jars) {
        List<URL> urls = new ArrayList<>(jars.size());
        for (Path jar : jars) {
            try {
                urls.add(jar.toUri().toURL());
            } catch (MalformedURLException e) {
                throw new IllegalStateException("bad jar path " + jar, e);
            }
        }
        return urls.toArray(URL[]::new);
    }

    static int freeLoopbackPort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free loopback port", e);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            Logger.debug("cannot remove {}: {}", root, e.toString());
        }
    }

    private static String config(int port) {
        return """
                <?xml version="1.0"?>
                <hivemq>
                  <listeners>
                    <tcp-listener>
                      <port>%d</port>
                      <bind-address>127.0.0.1</bind-address>
                    </tcp-listener>
                  </listeners>
                  <persistence>
                    <mode>in-memory</mode>
                  </persistence>
                  <anonymous-usage-statistics>
                    <enabled>false</enabled>
                  </anonymous-usage-statistics>
                  <general>
                    <update-check-enabled>false</update-check-enabled>
                  </general>
                </hivemq>
                """.formatted(port);
    }

    /** HiveMQ logs through logback inside its class loader; keep it to warnings on stderr. */
    private static final String LOGBACK = """
            <configuration>
              <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
                <target>System.err</target>
                <encoder><pattern>%d{HH:mm:ss.SSS} %-5level [broker] %msg%n</pattern></encoder>
              </appender>
              <root level="ERROR"><appender-ref ref="STDERR"/></root>
            </configuration>
            """;

    private static final class BindFailed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BindFailed(String message) {
            super(message);
        }
    }
}
