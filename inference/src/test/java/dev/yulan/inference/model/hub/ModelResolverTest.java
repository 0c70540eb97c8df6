package dev.yulan.inference.model.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelResolverTest {

    private static final String REPO = "acme/tiny";
    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    private static final byte[] CONFIG = "{\"architectures\": [\"LlamaForCausalLM\"]}".getBytes(StandardCharsets.UTF_8);
    private static final byte[] TOKENIZER = "{\"model\": {}}".getBytes(StandardCharsets.UTF_8);
    private static final byte[] WEIGHTS = randomBytes(300_000, 1);

    @TempDir
    Path dir;

    private FakeHub hub;
    private final ByteArrayOutputStream progressText = new ByteArrayOutputStream();

    @BeforeEach
    void startHub() throws Exception {
        hub = new FakeHub();
        hub.add(REPO, COMMIT, "config.json", CONFIG, false, "v1");
        hub.add(REPO, COMMIT, "tokenizer.json", TOKENIZER, false);
        hub.add(REPO, COMMIT, "generation_config.json", "{}".getBytes(StandardCharsets.UTF_8), false);
        hub.add(REPO, COMMIT, "model.safetensors", WEIGHTS, true);
    }

    @AfterEach
    void stopHub() {
        hub.close();
    }

    private HubSettings settings() {
        return new HubSettings(hub.endpoint(), dir.resolve("hub-cache"), Optional.empty(), false, 3);
    }

    private ModelResolver resolver(HubSettings settings) {
        return new ModelResolver(settings, DownloadProgress.to(new PrintStream(progressText, true), false));
    }

    @Test
    void localModelDirectoryResolvesToItself() throws Exception {
        Path model = Files.createDirectories(dir.resolve("my-model"));
        Files.write(model.resolve("config.json"), CONFIG);

        assertThat(resolver(settings()).resolve(model.toString())).isEqualTo(model.toAbsolutePath());
        assertThat(hub.requests).isEmpty();
    }

    @Test
    void ggufFileResolvesToItself() throws Exception {
        Path gguf = Files.write(dir.resolve("yulan-mini.Q8_0.gguf"), new byte[] {'G', 'G', 'U', 'F'});

        assertThat(resolver(settings()).resolve(gguf.toString())).isEqualTo(gguf.toAbsolutePath());
    }

    @Test
    void localPathsThatAreNoModelAreClearErrors() throws Exception {
        Path empty = Files.createDirectories(dir.resolve("empty"));
        Path text = Files.writeString(dir.resolve("notes.txt"), "hi");
        ModelResolver resolver = resolver(settings());

        assertThatThrownBy(() -> resolver.resolve(empty.toString()))
                .isInstanceOf(ModelResolutionException.class)
                .hasMessageContaining("has no config.json");
        assertThatThrownBy(() -> resolver.resolve(text.toString()))
                .hasMessageContaining("neither a model directory nor a GGUF file");
        assertThatThrownBy(() -> resolver.resolve(dir.resolve("missing").toString()))
                .hasMessageStartingWith("no such model directory or file: ");
        assertThatThrownBy(() -> resolver.resolve("./missing.gguf")).hasMessageStartingWith("no such model");
        assertThatThrownBy(() -> resolver.resolve(" ")).hasMessageStartingWith("no model given");
        assertThat(hub.requests).isEmpty();
    }

    @Test
    void downloadsIntoTheHuggingFaceCacheLayout() throws Exception {
        Path snapshot = resolver(settings()).resolve(REPO);

        Path repo = dir.resolve("hub-cache/models--acme--tiny");
        assertThat(snapshot).isEqualTo(repo.resolve("snapshots").resolve(COMMIT));
        assertThat(Files.readString(repo.resolve("refs/main"))).isEqualTo(COMMIT);
        assertThat(snapshot.resolve("config.json")).hasBinaryContent(CONFIG);
        assertThat(snapshot.resolve("tokenizer.json")).hasBinaryContent(TOKENIZER);
        assertThat(snapshot.resolve("generation_config.json")).exists();
        assertThat(snapshot.resolve("tokenizer_config.json")).doesNotExist();
        assertThat(snapshot.resolve("model.safetensors")).hasBinaryContent(WEIGHTS);
        // Snapshot files are relative links to content-addressed blobs, as huggingface_hub writes them.
        assertThat(Files.isSymbolicLink(snapshot.resolve("model.safetensors"))).isTrue();
        assertThat(Files.readSymbolicLink(snapshot.resolve("model.safetensors")))
                .isEqualTo(Path.of("../../blobs/" + FakeHub.sha256(WEIGHTS)));
        assertThat(Files.readSymbolicLink(snapshot.resolve("config.json")))
                .isEqualTo(Path.of("../../blobs/" + FakeHub.gitBlobSha1(CONFIG)));
        try (var blobs = Files.list(repo.resolve("blobs"))) {
            assertThat(blobs).noneMatch(p -> p.toString().endsWith(".incomplete"));
        }
        // Not a terminal: one line as each file starts and one as it ends, no redraws.
        assertThat(progressText.toString(StandardCharsets.UTF_8))
                .contains("downloading acme/tiny model.safetensors (0.3 MB)")
                .contains("downloaded acme/tiny model.safetensors: 0.3 MB in ")
                .doesNotContain("\r");
    }

    @Test
    void cachedModelIsServedWithoutAnyRequest() throws Exception {
        Path first = resolver(settings()).resolve(REPO);
        int requestsAfterDownload = hub.requests.size();

        assertThat(resolver(settings()).resolve(REPO)).isEqualTo(first);
        assertThat(hub.requests).hasSize(requestsAfterDownload);

        hub.close();
        HubSettings unreachable = settings().withEndpoint(URI.create("http://127.0.0.1:" + closedPort()));
        assertThat(resolver(unreachable).resolve(REPO)).isEqualTo(first);
        // A ref the cache does not know needs the hub.
        assertThatThrownBy(() -> resolver(unreachable).resolve(REPO + "@v1")).hasMessageStartingWith("cannot reach");
    }

    @Test
    void cacheWrittenByOtherToolsIsUsedOffline() throws Exception {
        Path cache = dir.resolve("hf-home/hub");
        Path snapshot = Files.createDirectories(cache.resolve("models--yulan-team--YuLan-Mini/snapshots/" + COMMIT));
        Files.createDirectories(cache.resolve("models--yulan-team--YuLan-Mini/refs"));
        Files.writeString(cache.resolve("models--yulan-team--YuLan-Mini/refs/main"), COMMIT + "\n");
        Files.write(snapshot.resolve("config.json"), CONFIG);
        Files.write(snapshot.resolve("tokenizer.json"), TOKENIZER);
        Files.writeString(
                snapshot.resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\","
                        + " \"b\": \"model-00002-of-00002.safetensors\"}}");
        Files.write(snapshot.resolve("model-00001-of-00002.safetensors"), new byte[8]);
        Files.write(snapshot.resolve("model-00002-of-00002.safetensors"), new byte[8]);
        HubSettings settings = HubSettings.fromEnvironment(
                Map.of("HF_HOME", dir.resolve("hf-home").toString(), "HF_HUB_OFFLINE", "1"), dir);

        assertThat(resolver(settings).resolve("yulan-team/YuLan-Mini")).isEqualTo(snapshot);
        assertThat(resolver(settings)
                        .cached(HubId.parse("yulan-team/YuLan-Mini").orElseThrow()))
                .contains(snapshot);
    }

    @Test
    void interruptedDownloadResumesWithARangeRequest() throws Exception {
        hub.cutAfterBytes = 100_000;
        hub.cutsLeft.set(1);

        Path snapshot = resolver(settings()).resolve(REPO);

        assertThat(snapshot.resolve("model.safetensors")).hasBinaryContent(WEIGHTS);
        assertThat(hub.requests)
                .filteredOn(r -> r.path().startsWith("/cdn/"))
                .extracting(FakeHub.Request::range)
                .containsExactly(null, "bytes=100000-");
    }

    @Test
    void nextRunResumesFromTheIncompleteFile() throws Exception {
        hub.cutAfterBytes = 120_000;
        hub.cutsLeft.set(1);
        HubSettings once = settings().withAttempts(1);

        assertThatThrownBy(() -> resolver(once).resolve(REPO))
                .isInstanceOf(ModelResolutionException.class)
                .hasMessageContaining("download of acme/tiny model.safetensors failed after 1 attempts")
                .hasMessageContaining("120000 bytes are kept, run again to resume");
        Path incomplete = dir.resolve("hub-cache/models--acme--tiny/blobs/" + FakeHub.sha256(WEIGHTS) + ".incomplete");
        assertThat(incomplete).hasSize(120_000);

        Path snapshot = resolver(once).resolve(REPO);

        assertThat(snapshot.resolve("model.safetensors")).hasBinaryContent(WEIGHTS);
        assertThat(incomplete).doesNotExist();
        assertThat(hub.requests.getLast().range()).isEqualTo("bytes=120000-");
    }

    @Test
    void checksumMismatchIsAnErrorAndDiscardsTheDownload() {
        hub.lieAboutChecksum("model.safetensors", FakeHub.sha256(randomBytes(10, 2)));

        assertThatThrownBy(() -> resolver(settings()).resolve(REPO))
                .isInstanceOf(ModelResolutionException.class)
                .hasMessageStartingWith("checksum mismatch for acme/tiny model.safetensors: expected sha256 ")
                .hasMessageContaining("got sha256 " + FakeHub.sha256(WEIGHTS));
        Path repo = dir.resolve("hub-cache/models--acme--tiny");
        assertThat(repo.resolve("snapshots").resolve(COMMIT).resolve("model.safetensors"))
                .doesNotExist();
        assertThat(repo.resolve("refs/main")).doesNotExist();
        assertThat(repo.resolve("blobs").toFile().list())
                .noneMatch(name -> name.endsWith(".incomplete") || name.startsWith(FakeHub.sha256(WEIGHTS)));
    }

    @Test
    void concurrentResolvesDownloadEachBlobOnce() throws Exception {
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(2)) {
            var first = pool.submit(() -> resolver(settings()).resolve(REPO));
            var second = pool.submit(() -> resolver(settings()).resolve(REPO));
            assertThat(first.get()).isEqualTo(second.get());
            assertThat(first.get().resolve("model.safetensors")).hasBinaryContent(WEIGHTS);
            assertThat(Files.isSymbolicLink(first.get().resolve("model.safetensors")))
                    .isTrue();
        }
        assertThat(hub.cdnRequests()).isEqualTo(1);
    }

    @Test
    void unreachableHubIsOneClearLine() throws Exception {
        int port = closedPort();
        HubSettings settings = settings().withEndpoint(URI.create("http://127.0.0.1:" + port));

        assertThatThrownBy(() -> resolver(settings).resolve(REPO))
                .isInstanceOf(ModelResolutionException.class)
                .hasMessageStartingWith("cannot reach http://127.0.0.1:" + port + " to download acme/tiny")
                .hasMessageContaining("pass a local model directory or GGUF file")
                .hasMessageNotContaining("\n");
    }

    @Test
    void offlineModeNeverTouchesTheNetwork() {
        assertThatThrownBy(() -> resolver(settings().withOffline(true)).resolve(REPO))
                .isInstanceOf(ModelResolutionException.class)
                .hasMessageContaining("HF_HUB_OFFLINE");
        assertThat(hub.requests).isEmpty();
    }

    @Test
    void shardedWeightsAreAllDownloaded() throws Exception {
        String commit = "fedcba9876543210fedcba9876543210fedcba98";
        byte[] shard1 = randomBytes(50_000, 3);
        byte[] shard2 = randomBytes(40_000, 4);
        hub.add("acme/big", commit, "config.json", CONFIG, false);
        hub.add("acme/big", commit, "tokenizer.json", TOKENIZER, false);
        hub.add(
                "acme/big",
                commit,
                "model.safetensors.index.json",
                ("{\"metadata\": {}, \"weight_map\": {\"x\": \"model-00001-of-00002.safetensors\","
                                + " \"y\": \"model-00002-of-00002.safetensors\","
                                + " \"z\": \"model-00001-of-00002.safetensors\"}}")
                        .getBytes(StandardCharsets.UTF_8),
                false);
        hub.add("acme/big", commit, "model-00001-of-00002.safetensors", shard1, true);
        hub.add("acme/big", commit, "model-00002-of-00002.safetensors", shard2, true);

        Path snapshot = resolver(settings()).resolve("acme/big");

        assertThat(snapshot.resolve("model-00001-of-00002.safetensors")).hasBinaryContent(shard1);
        assertThat(snapshot.resolve("model-00002-of-00002.safetensors")).hasBinaryContent(shard2);
        assertThat(hub.cdnRequests()).isEqualTo(2);
    }

    @Test
    void revisionIsRecordedAsItsOwnRef() throws Exception {
        Path snapshot = resolver(settings()).resolve(REPO + "@v1");

        assertThat(Files.readString(dir.resolve("hub-cache/models--acme--tiny/refs/v1")))
                .isEqualTo(COMMIT);
        assertThat(dir.resolve("hub-cache/models--acme--tiny/refs/main")).doesNotExist();
        assertThat(snapshot.resolve("config.json")).hasBinaryContent(CONFIG);
        // Once the first file named the commit, every other request is pinned to it.
        assertThat(hub.requests)
                .filteredOn(r -> r.path().contains("/resolve/") && !r.path().endsWith("/config.json"))
                .allMatch(r -> r.path().contains("/resolve/" + COMMIT + "/"));
    }

    @Test
    void tokenGoesToTheHubButNeverToTheCdn() throws Exception {
        hub.requiredToken = "hf_secret";

        assertThatThrownBy(() -> resolver(settings()).resolve(REPO))
                .isInstanceOf(ModelResolutionException.class)
                .hasMessage("model acme/tiny not found on " + hub.endpoint() + " (if it is private or gated, set"
                        + " HF_TOKEN)");

        resolver(settings().withToken("hf_secret")).resolve(REPO);

        assertThat(hub.requests).filteredOn(r -> r.path().contains("/resolve/")).anyMatch(FakeHub.Request::authorized);
        assertThat(hub.requests).filteredOn(r -> r.path().startsWith("/cdn/")).noneMatch(FakeHub.Request::authorized);
    }

    @Test
    void repositoryWithoutTokenizerIsRejected() {
        hub.add("acme/notok", COMMIT, "config.json", CONFIG, false);
        hub.add("acme/notok", COMMIT, "model.safetensors", WEIGHTS, true);

        assertThatThrownBy(() -> resolver(settings()).resolve("acme/notok"))
                .hasMessage("acme/notok has no tokenizer.json, which yulan needs (a fast-tokenizer checkpoint)");
    }

    @Test
    void settingsFollowTheHuggingFaceEnvironmentVariables() throws Exception {
        Path home = dir.resolve("home");
        assertThat(HubSettings.fromEnvironment(Map.of(), home).cacheDirectory())
                .isEqualTo(home.resolve(".cache/huggingface/hub"));
        assertThat(HubSettings.fromEnvironment(Map.of(), home).endpoint()).isEqualTo(HubSettings.DEFAULT_ENDPOINT);
        assertThat(HubSettings.fromEnvironment(Map.of("HF_HOME", "/data/hf"), home)
                        .cacheDirectory())
                .isEqualTo(Path.of("/data/hf/hub"));
        assertThat(HubSettings.fromEnvironment(Map.of("HF_HOME", "/data/hf", "HF_HUB_CACHE", "/fast/hub"), home)
                        .cacheDirectory())
                .isEqualTo(Path.of("/fast/hub"));
        HubSettings mirrored = HubSettings.fromEnvironment(
                Map.of("HF_ENDPOINT", "https://mirror.example/", "HF_TOKEN", "hf_x", "HF_HUB_OFFLINE", "true"), home);
        assertThat(mirrored.endpoint()).isEqualTo(URI.create("https://mirror.example"));
        assertThat(mirrored.token()).contains("hf_x");
        assertThat(mirrored.offline()).isTrue();
        assertThat(mirrored.toString()).doesNotContain("hf_x");

        Files.createDirectories(home.resolve(".cache/huggingface"));
        Files.writeString(home.resolve(".cache/huggingface/token"), "hf_from_login\n");
        assertThat(HubSettings.fromEnvironment(Map.of(), home).token()).contains("hf_from_login");
    }

    @Test
    void hubIdsParseWithOptionalRevision() {
        assertThat(HubId.parse("yulan-team/YuLan-Mini")).contains(new HubId("yulan-team", "YuLan-Mini", "main"));
        assertThat(HubId.parse("yulan-team/YuLan-Mini@refs/pr/3"))
                .contains(new HubId("yulan-team", "YuLan-Mini", "refs/pr/3"));
        assertThat(HubId.parse("stories260K")).isEmpty();
        assertThat(HubId.parse("a/b/c")).isEmpty();
        assertThat(HubId.parse("a--b/c")).isEmpty();
        assertThat(HubId.parse("a/b@../x")).isEmpty();
    }

    private static int closedPort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0, 0, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static byte[] randomBytes(int size, long seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
