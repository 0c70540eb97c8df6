package dev.yulan.inference.model.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Turns what a user passes as {@code --model} into local files: a Hugging Face model directory (one with a {@code
 * config.json}) or a GGUF file is used as it is; a hub id {@code owner/name[@revision]} is looked up in the local
 * Hugging Face cache and, only if it is not there completely, downloaded into that cache.
 *
 * <p>Nothing here touches the network unless {@link #resolve} is given a hub id that the cache cannot serve.
 */
public final class ModelResolver {

    /** Small files fetched along with the weights when the repository has them. */
    private static final List<String> OPTIONAL_FILES =
            List.of("tokenizer_config.json", "generation_config.json", "special_tokens_map.json");

    private final HubSettings settings;
    private final DownloadProgress progress;

    public ModelResolver(HubSettings settings, DownloadProgress progress) {
        this.settings = settings;
        this.progress = progress;
    }

    /** A resolver configured like the Hugging Face tools ({@code HF_HOME}, {@code HF_TOKEN}, ...), progress on stderr. */
    public static ModelResolver fromEnvironment() {
        return new ModelResolver(HubSettings.fromEnvironment(), DownloadProgress.stderr());
    }

    public HubSettings settings() {
        return settings;
    }

    /**
     * The local directory (or GGUF file) for a model spec.
     *
     * @throws ModelResolutionException with a one-line message when the spec names nothing usable, the hub cannot
     *     be reached, or a download fails
     */
    public Path resolve(String spec) {
        String trimmed = spec == null ? "" : spec.trim();
        if (trimmed.isEmpty()) {
            throw new ModelResolutionException("no model given: pass a model directory, a GGUF file or a hub id");
        }
        Path path = expandHome(trimmed);
        if (Files.isDirectory(path)) {
            if (!Files.isRegularFile(path.resolve(HubCache.CONFIG))) {
                throw new ModelResolutionException(
                        path + " has no config.json, so it is not a Hugging Face model directory");
            }
            return path.toAbsolutePath().normalize();
        }
        if (Files.isRegularFile(path)) {
            if (!path.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gguf")) {
                throw new ModelResolutionException(path + " is neither a model directory nor a GGUF file (.gguf)");
            }
            return path.toAbsolutePath().normalize();
        }
        Optional<HubId> id = looksLikePath(trimmed) ? Optional.empty() : HubId.parse(trimmed);
        if (id.isEmpty()) {
            throw new ModelResolutionException(
                    "no such model directory or file: " + trimmed + " (a hub id looks like owner/name[@revision])");
        }
        return resolve(id.get());
    }

    /** The snapshot directory of a hub model: from the cache if complete there, else downloaded into it. */
    public Path resolve(HubId id) {
        HubCache cache = new HubCache(settings.cacheDirectory());
        Optional<Path> cached = cached(id);
        if (cached.isPresent()) {
            return cached.get();
        }
        if (settings.offline()) {
            throw new ModelResolutionException(id + " is not (completely) in the Hugging Face cache at "
                    + cache.root() + " and HF_HUB_OFFLINE is set; unset it to download, or pass a local model"
                    + " directory or GGUF file");
        }
        try (HttpClient http = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(15))
                .build()) {
            return download(id, cache, new HubDownloader(settings, http, cache, progress));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ModelResolutionException("interrupted while downloading " + id, e);
        } catch (IOException e) {
            throw new ModelResolutionException(
                    "cannot download " + id + " from " + settings.endpoint() + ": " + HubDownloader.describe(e), e);
        } catch (UncheckedIOException e) {
            throw new ModelResolutionException(
                    "cannot store " + id + " in " + cache.root() + ": " + HubDownloader.describe(e), e);
        }
    }

    /** The complete snapshot of a hub model in the local cache, without touching the network. */
    public Optional<Path> cached(HubId id) {
        HubCache cache = new HubCache(settings.cacheDirectory());
        return cache.commit(id)
                .map(commit -> cache.snapshot(id, commit))
                .filter(Files::isDirectory)
                .filter(snapshot -> cache.missingFiles(snapshot).isEmpty());
    }

    private Path download(HubId id, HubCache cache, HubDownloader downloader) throws IOException, InterruptedException {
        HubDownloader.FileMetadata config;
        try {
            config = downloader
                    .metadata(id, id.revision(), HubCache.CONFIG)
                    .orElseThrow(() -> new ModelResolutionException(id + " has no config.json on " + settings.endpoint()
                            + ", so it is not a model yulan" + " can load"));
        } catch (ConnectException | HttpTimeoutException e) {
            throw new ModelResolutionException(
                    "cannot reach " + settings.endpoint() + " to download " + id + " (" + HubDownloader.describe(e)
                            + "); pass a local model directory or GGUF file, or put the model in the Hugging Face"
                            + " cache at " + cache.root(),
                    e);
        }
        // Every later request names the commit, so a push in the meantime cannot mix two versions.
        String commit = config.commit();
        downloader.fetch(id, commit, config);
        HubDownloader.FileMetadata tokenizer = downloader
                .metadata(id, commit, HubCache.TOKENIZER)
                .orElseThrow(() -> new ModelResolutionException(
                        id + " has no tokenizer.json, which yulan needs (a fast-tokenizer checkpoint)"));
        downloader.fetch(id, commit, tokenizer);
        for (String file : OPTIONAL_FILES) {
            Optional<HubDownloader.FileMetadata> metadata = downloader.metadata(id, commit, file);
            if (metadata.isPresent()) {
                downloader.fetch(id, commit, metadata.get());
            }
        }
        Optional<HubDownloader.FileMetadata> weights = downloader.metadata(id, commit, HubCache.WEIGHTS);
        if (weights.isPresent()) {
            downloader.fetch(id, commit, weights.get());
        } else {
            HubDownloader.FileMetadata index = downloader
                    .metadata(id, commit, HubCache.WEIGHTS_INDEX)
                    .orElseThrow(() -> new ModelResolutionException(id + " has no safetensors weights ("
                            + HubCache.WEIGHTS + " or " + HubCache.WEIGHTS_INDEX + ")"));
            Path indexFile = downloader.fetch(id, commit, index);
            for (String shard : HubCache.shards(indexFile)) {
                HubDownloader.FileMetadata metadata = downloader
                        .metadata(id, commit, shard)
                        .orElseThrow(() -> new ModelResolutionException(
                                id + " lists weight file " + shard + " in its index but does not have it"));
                downloader.fetch(id, commit, metadata);
            }
        }
        cache.writeRef(id, commit);
        Path snapshot = cache.snapshot(id, commit);
        List<String> missing = cache.missingFiles(snapshot);
        if (!missing.isEmpty()) {
            throw new ModelResolutionException("download of " + id + " is incomplete, missing " + missing);
        }
        return snapshot;
    }

    private static boolean looksLikePath(String spec) {
        return spec.startsWith("/")
                || spec.startsWith(".")
                || spec.startsWith("~")
                || spec.toLowerCase(Locale.ROOT).endsWith(".gguf")
                || spec.contains("\\");
    }

    private static Path expandHome(String spec) {
        if (spec.equals("~") || spec.startsWith("~/")) {
            return Path.of(System.getProperty("user.home") + spec.substring(1));
        }
        return Path.of(spec);
    }
}
