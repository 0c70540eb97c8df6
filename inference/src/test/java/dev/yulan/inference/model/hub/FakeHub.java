package dev.yulan.inference.model.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A local stand-in for the Hugging Face hub, answering the way huggingface.co does: {@code
 * /{owner}/{name}/resolve/{revision}/{file}} with {@code X-Repo-Commit}; small files served directly with their git
 * blob sha1 as {@code ETag}; LFS files answered with a 302 to an absolute CDN URL and their sha256 in {@code
 * X-Linked-Etag}; the CDN honours {@code Range}. It can also cut transfers short and lie about checksums.
 */
final class FakeHub implements AutoCloseable {

    record Request(String method, String path, String range, boolean authorized) {}

    private record Repo(String commit, Map<String, String> refs, Map<String, byte[]> files, Map<String, Boolean> lfs) {}

    private static final Pattern RESOLVE = Pattern.compile("/([^/]+)/([^/]+)/resolve/([^/]+)/(.+)");
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");

    private final HttpServer server;
    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final Map<String, byte[]> cdn = new ConcurrentHashMap<>();
    private final Map<String, String> linkedEtagOverrides = new ConcurrentHashMap<>();
    final List<Request> requests = new CopyOnWriteArrayList<>();
    /** How many upcoming CDN responses stop after {@link #cutAfterBytes} bytes. */
    final AtomicInteger cutsLeft = new AtomicInteger();

    volatile int cutAfterBytes;
    volatile String requiredToken;

    FakeHub() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newCachedThreadPool());
        server.start();
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** Adds a file to a repository whose {@code main} (and the given extra refs) point at the commit. */
    void add(String repository, String commit, String file, byte[] content, boolean lfs, String... refs) {
        Repo repo = repos.computeIfAbsent(
                repository,
                r -> new Repo(commit, new ConcurrentHashMap<>(), new ConcurrentHashMap<>(), new ConcurrentHashMap<>()));
        repo.refs().put("main", commit);
        for (String ref : refs) {
            repo.refs().put(ref, commit);
        }
        repo.files().put(file, content);
        repo.lfs().put(file, lfs);
        if (lfs) {
            cdn.put(sha256(content), content);
        }
    }

    /** Makes the hub advertise a wrong sha256 for an LFS file. */
    void lieAboutChecksum(String file, String sha256) {
        linkedEtagOverrides.put(file, sha256);
    }

    long cdnRequests() {
        return requests.stream().filter(r -> r.path().startsWith("/cdn/")).count();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getRawPath();
            String auth = exchange.getRequestHeaders().getFirst("Authorization");
            requests.add(new Request(
                    exchange.getRequestMethod(),
                    path,
                    exchange.getRequestHeaders().getFirst("Range"),
                    auth != null));
            if (path.startsWith("/cdn/")) {
                serveCdn(exchange, path.substring("/cdn/".length()));
                return;
            }
            Matcher matcher = RESOLVE.matcher(path);
            if (!matcher.matches()) {
                send(exchange, 404, new byte[0]);
                return;
            }
            Repo repo = repos.get(matcher.group(1) + "/" + matcher.group(2));
            boolean authorized = requiredToken == null || ("Bearer " + requiredToken).equals(auth);
            if (repo == null || !authorized) {
                exchange.getResponseHeaders().set("X-Error-Code", "RepoNotFound");
                send(exchange, 401, new byte[0]);
                return;
            }
            String revision = URLDecoder.decode(matcher.group(3), StandardCharsets.UTF_8);
            String commit =
                    revision.equals(repo.commit()) ? revision : repo.refs().get(revision);
            if (commit == null) {
                exchange.getResponseHeaders().set("X-Error-Code", "RevisionNotFound");
                send(exchange, 404, new byte[0]);
                return;
            }
            String file = URLDecoder.decode(matcher.group(4), StandardCharsets.UTF_8);
            byte[] content = repo.files().get(file);
            if (content == null) {
                exchange.getResponseHeaders().set("X-Error-Code", "EntryNotFound");
                send(exchange, 404, new byte[0]);
                return;
            }
            var headers = exchange.getResponseHeaders();
            headers.set("X-Repo-Commit", commit);
            if (repo.lfs().get(file)) {
                String sha = sha256(content);
                headers.set("X-Linked-Etag", "\"" + linkedEtagOverrides.getOrDefault(file, sha) + "\"");
                headers.set("X-Linked-Size", Long.toString(content.length));
                // The ETag of the redirect is the pointer file's; clients must prefer X-Linked-Etag.
                headers.set("ETag", "\"" + gitBlobSha1(("pointer " + sha).getBytes(StandardCharsets.UTF_8)) + "\"");
                headers.set("Location", endpoint() + "/cdn/" + sha);
                send(
                        exchange,
                        302,
                        ("Found. Redirecting to " + endpoint() + "/cdn/" + sha).getBytes(StandardCharsets.UTF_8));
            } else {
                headers.set("ETag", "\"" + gitBlobSha1(content) + "\"");
                send(exchange, 200, content);
            }
        }
    }

    private void serveCdn(HttpExchange exchange, String sha) throws IOException {
        byte[] content = cdn.get(sha);
        if (content == null) {
            send(exchange, 404, new byte[0]);
            return;
        }
        int start = 0;
        String range = exchange.getRequestHeaders().getFirst("Range");
        if (range != null) {
            Matcher matcher = RANGE.matcher(range);
            if (matcher.matches()) {
                start = Integer.parseInt(matcher.group(1));
            }
        }
        if (start >= content.length && content.length > 0) {
            exchange.getResponseHeaders().set("Content-Range", "bytes */" + content.length);
            send(exchange, 416, new byte[0]);
            return;
        }
        int length = content.length - start;
        if (start > 0) {
            exchange.getResponseHeaders()
                    .set("Content-Range", "bytes " + start + "-" + (content.length - 1) + "/" + content.length);
        }
        exchange.sendResponseHeaders(start > 0 ? 206 : 200, length);
        OutputStream out = exchange.getResponseBody();
        if (cutsLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            // Announce the full length, send part of it, and drop the connection: an interrupted download.
            out.write(content, start, Math.min(cutAfterBytes, length));
            out.flush();
            // Give the client time to take what was sent: the JDK's HTTP client drops body bytes still queued
            // when the connection fails, and the tests assert how many bytes an interrupted download keeps.
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new IOException("cut on purpose");
        }
        out.write(content, start, length);
    }

    private static void send(HttpExchange exchange, int status, byte[] body) throws IOException {
        if (exchange.getRequestMethod().equals("HEAD")) {
            exchange.getResponseHeaders().set("Content-Length", Integer.toString(body.length));
            exchange.sendResponseHeaders(status, -1);
            return;
        }
        exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            exchange.getResponseBody().write(body);
        }
    }

    static String sha256(byte[] content) {
        return digest("SHA-256", content, new byte[0]);
    }

    static String gitBlobSha1(byte[] content) {
        return digest("SHA-1", content, ("blob " + content.length + "\0").getBytes(StandardCharsets.US_ASCII));
    }

    private static String digest(String algorithm, byte[] content, byte[] prefix) {
        try {
            MessageDigest digest = MessageDigest.getInstance(algorithm);
            digest.update(prefix);
            return HexFormat.of().formatHex(digest.digest(content));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
