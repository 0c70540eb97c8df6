package dev.yulan.inference.model.hub;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Where models come from and go: the hub endpoint, the local cache directory, the access token, and whether the
 * network may be used at all. Read from the same environment variables the Hugging Face tools use. A proxy is
 * configured the Java way ({@code -Dhttps.proxyHost=... -Dhttps.proxyPort=...}, e.g. in {@code YULAN_JAVA_OPTS}).
 *
 * @param endpoint the hub, {@code https://huggingface.co} unless {@code HF_ENDPOINT} says otherwise
 * @param cacheDirectory the hub cache ({@code $HF_HUB_CACHE}, else {@code $HF_HOME/hub}, else {@code
 *     ~/.cache/huggingface/hub})
 * @param token the bearer token ({@code HF_TOKEN}, else the file {@code huggingface-cli login} writes)
 * @param offline {@code HF_HUB_OFFLINE}: use the cache only, never the network
 * @param attempts how many times one file's download is tried (resuming each time) before giving up
 */
public record HubSettings(URI endpoint, Path cacheDirectory, Optional<String> token, boolean offline, int attempts) {

    public static final URI DEFAULT_ENDPOINT = URI.create("https://huggingface.co");
    private static final Set<String> TRUE = Set.of("1", "true", "yes", "on");

    public HubSettings {
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(cacheDirectory, "cacheDirectory");
        Objects.requireNonNull(token, "token");
        if (attempts < 1) {
            throw new IllegalArgumentException("attempts must be at least 1, got " + attempts);
        }
        String text = endpoint.toString();
        if (text.endsWith("/")) {
            endpoint = URI.create(text.substring(0, text.length() - 1));
        }
    }

    /** Settings from this process's environment and home directory. */
    public static HubSettings fromEnvironment() {
        return fromEnvironment(System.getenv(), Path.of(System.getProperty("user.home")));
    }

    /** Settings from the given environment variables, as {@code huggingface_hub} reads them. */
    public static HubSettings fromEnvironment(Map<String, String> env, Path home) {
        URI endpoint = nonBlank(env.get("HF_ENDPOINT")).map(URI::create).orElse(DEFAULT_ENDPOINT);
        Path hfHome = nonBlank(env.get("HF_HOME"))
                .map(Path::of)
                .orElseGet(() -> nonBlank(env.get("XDG_CACHE_HOME"))
                        .map(Path::of)
                        .orElse(home.resolve(".cache"))
                        .resolve("huggingface"));
        Path cache = nonBlank(env.get("HF_HUB_CACHE"))
                .or(() -> nonBlank(env.get("HUGGINGFACE_HUB_CACHE")))
                .map(Path::of)
                .orElse(hfHome.resolve("hub"));
        Optional<String> token = nonBlank(env.get("HF_TOKEN"))
                .or(() -> nonBlank(env.get("HUGGING_FACE_HUB_TOKEN")))
                .or(() -> readToken(
                        nonBlank(env.get("HF_TOKEN_PATH")).map(Path::of).orElse(hfHome.resolve("token"))));
        boolean offline = nonBlank(env.get("HF_HUB_OFFLINE"))
                .map(value -> TRUE.contains(value.toLowerCase(Locale.ROOT)))
                .orElse(false);
        return new HubSettings(endpoint, cache, token, offline, 5);
    }

    public HubSettings withEndpoint(URI newEndpoint) {
        return new HubSettings(newEndpoint, cacheDirectory, token, offline, attempts);
    }

    public HubSettings withCacheDirectory(Path directory) {
        return new HubSettings(endpoint, directory, token, offline, attempts);
    }

    public HubSettings withToken(String newToken) {
        return new HubSettings(endpoint, cacheDirectory, Optional.of(newToken), offline, attempts);
    }

    public HubSettings withOffline(boolean newOffline) {
        return new HubSettings(endpoint, cacheDirectory, token, newOffline, attempts);
    }

    public HubSettings withAttempts(int newAttempts) {
        return new HubSettings(endpoint, cacheDirectory, token, offline, newAttempts);
    }

    private static Optional<String> nonBlank(String value) {
        return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.trim());
    }

    private static Optional<String> readToken(Path file) {
        try {
            return Files.isRegularFile(file)
                    ? nonBlank(Files.readString(file, StandardCharsets.UTF_8))
                    : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    @Override
    public String toString() {
        // Never print the token.
        return "HubSettings[endpoint=" + endpoint + ", cacheDirectory=" + cacheDirectory + ", token="
                + (token.isPresent() ? "(set)" : "(none)") + ", offline=" + offline + ", attempts=" + attempts + "]";
    }
}
