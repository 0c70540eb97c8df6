package dev.yulan.topology.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The HTTP endpoint Prometheus and Kubernetes probe: {@code /metrics} (Prometheus text format), {@code /health}
 * (200 while the process lives) and {@code /ready} (200 when the readiness supplier says so, 503 with the reason
 * otherwise).
 */
public final class MetricsServer implements AutoCloseable {

    private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
    private static final String PLAIN_TEXT = "text/plain; charset=utf-8";

    private final HttpServer server;
    private final ExecutorService executor;
    private final PrometheusMeterRegistry registry;
    private final Supplier<Readiness> readiness;

    private MetricsServer(
            HttpServer server,
            ExecutorService executor,
            PrometheusMeterRegistry registry,
            Supplier<Readiness> readiness) {
        this.server = server;
        this.executor = executor;
        this.registry = registry;
        this.readiness = readiness;
    }

    /**
     * Starts serving on all interfaces.
     *
     * @param port the port; 0 picks a free one (see {@link #port()})
     */
    public static MetricsServer start(int port, PrometheusMeterRegistry registry, Supplier<Readiness> readiness) {
        return start(new InetSocketAddress(port), registry, readiness);
    }

    /** Starts serving on the given address. */
    public static MetricsServer start(
            InetSocketAddress address, PrometheusMeterRegistry registry, Supplier<Readiness> readiness) {
        HttpServer server;
        try {
            server = HttpServer.create(address, 0);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot serve metrics on port " + address.getPort() + ": " + e.getMessage(), e);
        }
        ExecutorService executor = Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name("yulan-metrics-", 0).factory());
        MetricsServer metrics = new MetricsServer(server, executor, registry, readiness);
        server.createContext("/metrics", metrics::metrics);
        server.createContext("/health", exchange -> metrics.respond(exchange, 200, PLAIN_TEXT, "ok\n"));
        server.createContext("/ready", metrics::ready);
        server.setExecutor(executor);
        server.start();
        return metrics;
    }

    /** The port actually bound. */
    public int port() {
        return server.getAddress().getPort();
    }

    private void metrics(HttpExchange exchange) throws IOException {
        if (!allowed(exchange)) {
            return;
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream(64 * 1024);
        registry.scrape(body);
        respond(exchange, 200, PROMETHEUS_TEXT, body.toByteArray());
    }

    private void ready(HttpExchange exchange) throws IOException {
        if (!allowed(exchange)) {
            return;
        }
        Readiness state;
        try {
            state = readiness.get();
        } catch (RuntimeException e) {
            state = Readiness.notReady("readiness check failed: " + e.getMessage());
        }
        respond(exchange, state.ready() ? 200 : 503, PLAIN_TEXT, state.reason() + "\n");
    }

    private boolean allowed(HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        if (method.equals("GET") || method.equals("HEAD")) {
            return true;
        }
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        respond(exchange, 405, PLAIN_TEXT, "method not allowed\n");
        return false;
    }

    private void respond(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        respond(exchange, status, contentType, body.getBytes(StandardCharsets.UTF_8));
    }

    private void respond(HttpExchange exchange, int status, String contentType, byte[] body) throws IOException {
        try (exchange) {
            exchange.getResponseHeaders().set("Content-Type", contentType);
            boolean head = exchange.getRequestMethod().equals("HEAD");
            exchange.sendResponseHeaders(status, head ? -1 : body.length);
            if (!head) {
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
