package dev.yulan.inference.model.hub;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Fetches single files of a hub repository into the {@link HubCache}, the way the hub serves them: {@code HEAD
 * {endpoint}/{repo}/resolve/{revision}/{file}} gives the commit ({@code X-Repo-Commit}), the content hash ({@code
 * X-Linked-Etag} for LFS files: their sha256; {@code ETag} for small files: their git blob sha1) and the size; the
 * content comes from a {@code GET} that usually redirects to a CDN. Interrupted downloads resume with an HTTP
 * {@code Range} on the {@code .incomplete} file; finished ones are checked against the hash before they enter the
 * cache. The token goes to the hub only, never to a CDN host.
 */
final class HubDownloader {

    /** What the hub says about one file. */
    /**
     * What the hub says about one file.
     *
     * @param onHub whether {@code downloadUri} is the hub's own URL (which gets the token) rather than a CDN's
     */
    record FileMetadata(String file, String commit, String etag, long size, URI downloadUri, boolean onHub) {}

    private static final int MAX_REDIRECTS = 10;
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern GIT_SHA1 = Pattern.compile("[0-9a-f]{40}");
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");
    private static final String USER_AGENT =
            "yulan-stream/0.1 java/" + Runtime.version().feature();

    private final HubSettings settings;
    private final HttpClient http;
    private final HubCache cache;
    private final DownloadProgress progress;

    HubDownloader(HubSettings settings, HttpClient http, HubCache cache, DownloadProgress progress) {
        this.settings = settings;
        this.http = http;
        this.cache = cache;
        this.progress = progress;
    }

    /** The hub's metadata for a file at a revision, or empty if the repository has no such file. */
    Optional<FileMetadata> metadata(HubId id, String revision, String file) throws IOException, InterruptedException {
        URI uri = resolveUri(id, revision, file);
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest request = request(uri, true)
                    .method("HEAD", HttpRequest.BodyPublishers.noBody())
                    .build();
            HttpResponse<Void> response = http.send(request, HttpResponse.BodyHandlers.discarding());
            int status = response.statusCode();
            HttpHeaders headers = response.headers();
            if (isRedirect(status)) {
                URI from = uri;
                String location = headers.firstValue("Location")
                        .orElseThrow(() -> new IOException("redirect without a Location from " + from));
                URI next = uri.resolve(location);
                // A relative redirect is the hub itself (a renamed repository); an absolute one is the CDN,
                // and the hub's answer carries the metadata.
                if (URI.create(location).isAbsolute()) {
                    return Optional.of(metadataFrom(id, file, headers, next, false, OptionalLong.empty()));
                }
                uri = next;
                continue;
            }
            if (status == 200) {
                return Optional.of(
                        metadataFrom(id, file, headers, uri, true, headers.firstValueAsLong("Content-Length")));
            }
            String errorCode = headers.firstValue("X-Error-Code").orElse("");
            if (errorCode.equals("RepoNotFound") || (status == 401 && errorCode.isEmpty())) {
                throw new ModelResolutionException(
                        "model " + id.repository() + " not found on " + settings.endpoint() + accessHint());
            }
            if (errorCode.equals("RevisionNotFound")) {
                throw new ModelResolutionException(
                        "revision " + revision + " not found in " + id.repository() + " on " + settings.endpoint());
            }
            if (errorCode.equals("GatedRepo") || status == 403) {
                throw new ModelResolutionException("access to " + id.repository() + " on " + settings.endpoint()
                        + " is restricted" + accessHint());
            }
            if (status == 404) {
                return Optional.empty();
            }
            throw new IOException("HTTP " + status + " from " + uri);
        }
        throw new IOException("too many redirects from " + resolveUri(id, revision, file));
    }

    private String accessHint() {
        return settings.token().isPresent()
                ? " (or the token in HF_TOKEN may not read it)"
                : " (if it is private or gated, set HF_TOKEN)";
    }

    private FileMetadata metadataFrom(
            HubId id, String file, HttpHeaders headers, URI downloadUri, boolean onHub, OptionalLong contentLength)
            throws IOException {
        String commit = headers.firstValue("X-Repo-Commit")
                .orElseThrow(() -> new IOException("the hub sent no X-Repo-Commit for " + id.repository() + " " + file
                        + "; is " + settings.endpoint() + " a Hugging Face hub?"));
        String etag = headers.firstValue("X-Linked-Etag")
                .or(() -> headers.firstValue("ETag"))
                .map(HubDownloader::normalizeEtag)
                .filter(tag -> !tag.isEmpty())
                .orElseThrow(() -> new IOException("the hub sent no ETag for " + id.repository() + " " + file));
        if (!etag.matches("[A-Za-z0-9._-]+")) {
            throw new IOException("unexpected ETag for " + id.repository() + " " + file + ": " + etag);
        }
        long size = headers.firstValueAsLong("X-Linked-Size").orElse(contentLength.orElse(-1));
        return new FileMetadata(file, commit, etag, size, downloadUri, onHub);
    }

    private static String normalizeEtag(String etag) {
        String tag = etag.trim();
        if (tag.startsWith("W/")) {
            tag = tag.substring(2);
        }
        return tag.replace("\"", "");
    }

    /**
     * Makes sure the file's blob is in the cache (downloading, resuming and verifying it if needed) and that the
     * snapshot of {@code commit} links to it; returns the file's path in the snapshot.
     */
    Path fetch(HubId id, String commit, FileMetadata metadata) throws IOException, InterruptedException {
        Path blob = cache.blob(id, metadata.etag());
        if (!Files.isRegularFile(blob)) {
            Path lockFile = cache.lock(id, metadata.etag());
            Files.createDirectories(lockFile.getParent());
            Files.createDirectories(blob.getParent());
            // Another process downloading the same blob finishes first; then the blob is simply there.
            try (FileChannel lockChannel =
                            FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                    FileLock ignored = lock(lockChannel)) {
                if (!Files.isRegularFile(blob)) {
                    download(id, metadata);
                }
            }
        }
        cache.link(id, commit, metadata.file(), metadata.etag());
        return cache.snapshot(id, commit).resolve(metadata.file());
    }

    /** Waits for the lock, also when another thread of this process holds it (file locks are per process). */
    private static FileLock lock(FileChannel channel) throws IOException, InterruptedException {
        while (true) {
            try {
                return channel.lock();
            } catch (OverlappingFileLockException e) {
                Thread.sleep(100);
            }
        }
    }

    private void download(HubId id, FileMetadata metadata) throws IOException, InterruptedException {
        Path part = cache.incomplete(id, metadata.etag());
        String label = id.repository() + " " + metadata.file();
        IOException last = null;
        for (int attempt = 1; attempt <= settings.attempts(); attempt++) {
            try {
                transfer(label, metadata, part);
                last = null;
                break;
            } catch (IOException e) {
                last = e;
                if (attempt < settings.attempts()) {
                    Thread.sleep(Math.min(5_000, 250L * attempt * attempt));
                }
            }
        }
        if (last != null) {
            long have = Files.exists(part) ? Files.size(part) : 0;
            throw new ModelResolutionException(
                    "download of " + label + " failed after " + settings.attempts() + " attempts (" + describe(last)
                            + "); " + have + " bytes are kept, run again to resume",
                    last);
        }
        Optional<String> problem = verify(part, metadata);
        if (problem.isPresent()) {
            Files.deleteIfExists(part);
            throw new ModelResolutionException("checksum mismatch for " + label + ": " + problem.get()
                    + "; the download was discarded, run" + " again to fetch it anew");
        }
        Files.move(part, cache.blob(id, metadata.etag()), StandardCopyOption.ATOMIC_MOVE);
    }

    /** One attempt: continues the partial file where it stops, or starts over if the server will not resume. */
    private void transfer(String label, FileMetadata metadata, Path part) throws IOException, InterruptedException {
        long have = Files.exists(part) ? Files.size(part) : 0;
        long size = metadata.size();
        if (size >= 0 && have > size) {
            Files.delete(part);
            have = 0;
        }
        if (size >= 0 && have == size && size > 0) {
            return;
        }
        HttpResponse<InputStream> response = get(metadata.downloadUri(), metadata.onHub(), have);
        try (InputStream body = response.body()) {
            int status = response.statusCode();
            boolean append;
            if (status == 206) {
                long start = contentRangeStart(response.headers());
                if (start != have) {
                    Files.deleteIfExists(part);
                    throw new IOException("the server resumed at byte " + start + " instead of " + have);
                }
                append = true;
            } else if (status == 200) {
                append = false;
                have = 0;
            } else if (status == 416) {
                Files.deleteIfExists(part);
                throw new IOException("the server refused to resume at byte " + have);
            } else if (status >= 500 || status == 429) {
                throw new IOException(
                        "HTTP " + status + " from " + metadata.downloadUri().getHost());
            } else {
                throw new ModelResolutionException("cannot download " + label + ": HTTP " + status + " from "
                        + metadata.downloadUri().getHost());
            }
            progress.started(label, size, have);
            boolean success = false;
            try (OutputStream out = append
                    ? Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.APPEND)
                    : Files.newOutputStream(
                            part,
                            StandardOpenOption.CREATE,
                            StandardOpenOption.TRUNCATE_EXISTING,
                            StandardOpenOption.WRITE)) {
                byte[] buffer = new byte[1 << 16];
                long written = have;
                for (int n; (n = body.read(buffer)) >= 0; ) {
                    out.write(buffer, 0, n);
                    written += n;
                    progress.advanced(written);
                }
                if (size >= 0 && written < size) {
                    throw new IOException("connection closed at byte " + written + " of " + size);
                }
                success = true;
            } finally {
                progress.finished(success);
            }
        }
    }

    private HttpResponse<InputStream> get(URI start, boolean onHub, long offset)
            throws IOException, InterruptedException {
        URI uri = start;
        boolean withToken = onHub;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder request = request(uri, withToken).GET();
            if (offset > 0) {
                request.header("Range", "bytes=" + offset + "-");
            }
            HttpResponse<InputStream> response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
            if (!isRedirect(response.statusCode())) {
                return response;
            }
            response.body().close();
            String location = response.headers()
                    .firstValue("Location")
                    .orElseThrow(() -> new IOException("redirect without a Location"));
            // An absolute redirect leaves the hub (for a CDN); the token stays behind.
            withToken = withToken && !URI.create(location).isAbsolute();
            uri = uri.resolve(location);
        }
        throw new IOException("too many redirects from " + start);
    }

    /** A request with the common headers; the token only when the request goes to the hub itself. */
    private HttpRequest.Builder request(URI uri, boolean withToken) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(uri)
                .timeout(REQUEST_TIMEOUT)
                .header("User-Agent", USER_AGENT)
                .header("Accept-Encoding", "identity");
        if (withToken && settings.token().isPresent() && sameOrigin(uri, settings.endpoint())) {
            builder.header("Authorization", "Bearer " + settings.token().get());
        }
        return builder;
    }

    private static boolean sameOrigin(URI a, URI b) {
        return a.getScheme().equalsIgnoreCase(b.getScheme())
                && a.getHost().equalsIgnoreCase(b.getHost())
                && effectivePort(a) == effectivePort(b);
    }

    private static int effectivePort(URI uri) {
        return uri.getPort() != -1 ? uri.getPort() : uri.getScheme().equalsIgnoreCase("https") ? 443 : 80;
    }

    private static boolean isRedirect(int status) {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }

    private static long contentRangeStart(HttpHeaders headers) throws IOException {
        String range = headers.firstValue("Content-Range").orElse("");
        Matcher matcher = CONTENT_RANGE.matcher(range);
        if (!matcher.matches()) {
            throw new IOException("partial content without a usable Content-Range: '" + range + "'");
        }
        return Long.parseLong(matcher.group(1));
    }

    URI resolveUri(HubId id, String revision, String file) {
        String path = Stream.of(file.split("/"))
                .map(segment ->
                        URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20"))
                .collect(Collectors.joining("/"));
        return URI.create(settings.endpoint() + "/" + id.owner() + "/" + id.name() + "/resolve/"
                + URLEncoder.encode(revision, StandardCharsets.UTF_8) + "/" + path);
    }

    /** Why the downloaded file is not the one the hub described, or empty if it is. */
    static Optional<String> verify(Path file, FileMetadata metadata) throws IOException {
        long size = Files.size(file);
        if (metadata.size() >= 0 && size != metadata.size()) {
            return Optional.of("expected " + metadata.size() + " bytes, got " + size);
        }
        String etag = metadata.etag();
        String expected = etag.toLowerCase(java.util.Locale.ROOT);
        String actual;
        if (SHA256.matcher(expected).matches()) {
            actual = digest(file, "SHA-256", null);
            expected = "sha256 " + expected;
            actual = "sha256 " + actual;
        } else if (GIT_SHA1.matcher(expected).matches()) {
            // Small (non-LFS) files: the hub's ETag is the git blob id, sha1 of "blob <size>\0" + content.
            actual = digest(file, "SHA-1", ("blob " + size + "\0").getBytes(StandardCharsets.US_ASCII));
            expected = "git sha1 " + expected;
            actual = "git sha1 " + actual;
        } else {
            return Optional.empty();
        }
        return expected.equals(actual) ? Optional.empty() : Optional.of("expected " + expected + ", got " + actual);
    }

    private static String digest(Path file, String algorithm, byte[] prefix) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " is part of every JDK", e);
        }
        if (prefix != null) {
            digest.update(prefix);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = in.read(buffer)) >= 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    static String describe(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof java.nio.channels.UnresolvedAddressException
                    || c instanceof java.net.UnknownHostException) {
                return "host not found";
            }
        }
        Throwable cause = e;
        while (cause.getMessage() == null && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause.getMessage() != null
                ? cause.getMessage()
                : cause.getClass().getSimpleName();
    }
}
