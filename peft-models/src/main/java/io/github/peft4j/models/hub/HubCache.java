package io.github.peft4j.models.hub;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.io.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resolves a Hugging Face hub id ({@code HuggingFaceTB/SmolLM2-135M-Instruct}) to a model directory the way
 * {@code huggingface_hub} does, sharing its cache: {@code <cache>/models--org--name/refs/<revision>} names a commit,
 * {@code snapshots/<commit>/<file>} links to {@code blobs/<etag>}. A model already in the cache is used as is;
 * otherwise its configuration, tokenizer and safetensors files are downloaded into the same layout (resumable, each
 * blob checked against the hub's ETag: SHA-256 for LFS files, the git blob SHA-1 for the others).
 * {@code HF_HUB_OFFLINE=1} forbids downloads; {@code HF_HOME}, {@code HF_HUB_CACHE}, {@code HF_ENDPOINT} and
 * {@code HF_TOKEN} are honoured.
 */
public final class HubCache {

    private static final Logger LOG = LoggerFactory.getLogger(HubCache.class);

    private static final Pattern REPO_ID =
            Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}");
    private static final Pattern FILE = Pattern.compile(
            "(config\\.json|generation_config\\.json|tokenizer\\.json|tokenizer_config\\.json|special_tokens_map\\.json"
                    + "|chat_template\\.jinja|model\\.safetensors\\.index\\.json|model(-\\d+-of-\\d+)?\\.safetensors)");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
    private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9._/-]{1,200}");

    private final Path cacheDir;
    private final URI endpoint;
    private final boolean offline;
    private final String token;
    private final HttpClient http;

    private HubCache(Path cacheDir, URI endpoint, boolean offline, String token) {
        this.cacheDir = cacheDir;
        this.endpoint = endpoint;
        this.offline = offline;
        this.token = token;
        this.http = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(30))
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build();
    }

    /**
     * The cache of this environment: {@code HF_HUB_CACHE}, else {@code HF_HOME/hub}, else
     * {@code ~/.cache/huggingface/hub}; endpoint {@code HF_ENDPOINT}; offline when {@code HF_HUB_OFFLINE} is 1/true.
     *
     * @return the cache
     */
    public static HubCache fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    static HubCache fromEnvironment(Map<String, String> env) {
        Path cache;
        if (env.get("HF_HUB_CACHE") != null) {
            cache = Path.of(env.get("HF_HUB_CACHE"));
        } else if (env.get("HF_HOME") != null) {
            cache = Path.of(env.get("HF_HOME"), "hub");
        } else {
            cache = Path.of(System.getProperty("user.home"), ".cache", "huggingface", "hub");
        }
        String off = env.getOrDefault("HF_HUB_OFFLINE", "0").toLowerCase(Locale.ROOT);
        URI ep = URI.create(env.getOrDefault("HF_ENDPOINT", "https://huggingface.co"));
        return new HubCache(cache, ep, off.equals("1") || off.equals("true") || off.equals("yes"), env.get("HF_TOKEN"));
    }

    /**
     * A cache with explicit settings.
     *
     * @param cacheDir the hub cache directory (holding {@code models--*})
     * @param endpoint the hub's address
     * @param offline whether downloads are forbidden
     * @param token a bearer token for gated or private models, or null
     * @return the cache
     */
    public static HubCache of(Path cacheDir, URI endpoint, boolean offline, String token) {
        return new HubCache(cacheDir, endpoint, offline, token);
    }

    /**
     * Whether a string has the form of a hub id ({@code org/name}).
     *
     * @param s the string
     * @return true if it could be a hub id
     */
    public static boolean isRepoId(String s) {
        return s != null && REPO_ID.matcher(s).matches() && !s.contains("..");
    }

    /**
     * The cache directory.
     *
     * @return the directory holding {@code models--*}
     */
    public Path cacheDir() {
        return cacheDir;
    }

    /**
     * Finds a model in the cache.
     *
     * @param repoId the hub id
     * @param revision a branch, tag or commit
     * @return the snapshot directory, if the cache has it with a {@code config.json}
     */
    public Optional<Path> cached(String repoId, String revision) throws IOException {
        checkRevision(revision);
        Path repo = repoDir(repoId);
        String commit = revision;
        if (!COMMIT.matcher(revision).matches()) {
            Path ref = repo.resolve("refs").resolve(revision);
            if (!Files.isRegularFile(ref)) {
                return Optional.empty();
            }
            commit = Files.readString(ref).strip();
            if (!COMMIT.matcher(commit).matches()) {
                // a ref names a commit; anything else (a path such as ../../x) must not choose the directory
                throw new IOException("the Hugging Face cache's ref " + ref + " does not hold a commit hash (40 hex"
                        + " digits); delete it to download the revision again");
            }
        }
        Path snap = repo.resolve("snapshots").resolve(commit);
        return Files.isRegularFile(snap.resolve("config.json")) ? Optional.of(snap) : Optional.empty();
    }

    /**
     * Resolves a hub id to a model directory: from the cache, or downloaded into it.
     *
     * @param repoId the hub id, {@code org/name}
     * @param revision a branch, tag or commit ({@code main} usually)
     * @return the snapshot directory
     * @throws IOException if the model is not cached and cannot be downloaded (offline, not found, a checksum
     *     mismatch), naming what to do
     */
    public Path resolve(String repoId, String revision) throws IOException {
        if (!isRepoId(repoId)) {
            throw new IllegalArgumentException("'" + repoId + "' is not a Hugging Face hub id (org/name)");
        }
        Optional<Path> hit = cached(repoId, revision);
        if (hit.isPresent()) {
            return hit.get();
        }
        if (offline) {
            throw new IOException(repoId + " (revision " + revision + ") is not in the Hugging Face cache " + cacheDir
                    + " and HF_HUB_OFFLINE forbids downloading it; download it once online, or pass a local directory");
        }
        return download(repoId, revision);
    }

    /** A branch, tag or commit: the hub's characters, no empty, '.' or '..' segment (it names a file under refs/). */
    private static void checkRevision(String revision) {
        if (revision == null
                || !REVISION.matcher(revision).matches()
                || java.util.Arrays.stream(revision.split("/", -1))
                        .anyMatch(p -> p.isEmpty() || p.equals(".") || p.equals(".."))) {
            throw new IllegalArgumentException("'" + revision + "' is not a revision (a branch, tag or commit of"
                    + " letters, digits, '.', '_', '-' and '/', without '.' or '..' segments)");
        }
    }

    private Path repoDir(String repoId) {
        return cacheDir.resolve("models--" + repoId.replace("/", "--"));
    }

    private HttpRequest.Builder request(URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(10));
        b.header("User-Agent", "peft4j");
        if (token != null && !token.isBlank()) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    private Path download(String repoId, String revision) throws IOException {
        String rev = URLEncoder.encode(revision, StandardCharsets.UTF_8);
        URI info = endpoint.resolve("/api/models/" + repoId + "/revision/" + rev);
        JsonNode meta;
        try {
            HttpResponse<byte[]> r = http.send(request(info).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
            if (r.statusCode() != 200) {
                throw new IOException("the hub answered " + r.statusCode() + " for " + repoId + " revision " + revision
                        + (r.statusCode() == 401 || r.statusCode() == 403
                                ? " (gated or private: set HF_TOKEN)"
                                : r.statusCode() == 404 ? " (no such model or revision)" : ""));
            }
            meta = Json.MAPPER.readTree(r.body());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while asking the hub for " + repoId, e);
        }
        String commit = meta.path("sha").asText("");
        if (!COMMIT.matcher(commit).matches()) {
            throw new IOException("the hub's answer for " + repoId + " has no commit sha");
        }
        List<String> files = new ArrayList<>();
        for (JsonNode s : meta.path("siblings")) {
            String f = s.path("rfilename").asText("");
            if (FILE.matcher(f).matches()) {
                files.add(f);
            }
        }
        if (!files.contains("config.json") || files.stream().noneMatch(f -> f.endsWith(".safetensors"))) {
            throw new IOException(repoId + " has no config.json and safetensors weights at revision " + revision
                    + "; peft4j reads safetensors checkpoints");
        }
        Path repo = repoDir(repoId);
        Path snap = repo.resolve("snapshots").resolve(commit);
        Files.createDirectories(snap);
        Files.createDirectories(repo.resolve("blobs"));
        for (String f : files) {
            fetch(repoId, commit, f, repo, snap);
        }
        Path refs = repo.resolve("refs");
        Files.createDirectories(refs);
        if (!COMMIT.matcher(revision).matches()) {
            Path tmp = Files.createTempFile(refs, ".ref", ".tmp");
            Files.writeString(tmp, commit);
            Files.move(
                    tmp, refs.resolve(revision), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        LOG.info("downloaded {} ({} files, commit {}) into {}", repoId, files.size(), commit, snap);
        return snap;
    }

    private void fetch(String repoId, String commit, String file, Path repo, Path snap) throws IOException {
        Path link = snap.resolve(file);
        if (Files.exists(link)) {
            return;
        }
        URI uri = endpoint.resolve("/" + repoId + "/resolve/" + commit + "/" + file);
        String etag;
        try {
            HttpClient noRedirect = HttpClient.newBuilder()
                    .connectTimeout(Duration.ofSeconds(30))
                    .followRedirects(HttpClient.Redirect.NEVER)
                    .build();
            HttpResponse<Void> head = noRedirect.send(
                    request(uri)
                            .method("HEAD", HttpRequest.BodyPublishers.noBody())
                            .build(),
                    HttpResponse.BodyHandlers.discarding());
            if (head.statusCode() >= 400) {
                throw new IOException("the hub answered " + head.statusCode() + " for " + uri);
            }
            etag = head.headers()
                    .firstValue("X-Linked-Etag")
                    .or(() -> head.headers().firstValue("ETag"))
                    .map(e -> e.replace("W/", "").replace("\"", ""))
                    .orElseThrow(() -> new IOException("the hub sent no ETag for " + uri));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while downloading " + uri, e);
        }
        if (!etag.matches("[0-9a-fA-F]{8,128}")) {
            throw new IOException("unexpected ETag '" + etag + "' for " + uri);
        }
        Path blob = repo.resolve("blobs").resolve(etag);
        if (!Files.isRegularFile(blob)) {
            Path partial = repo.resolve("blobs").resolve(etag + ".incomplete");
            long have = Files.isRegularFile(partial) ? Files.size(partial) : 0;
            HttpRequest.Builder get = request(uri).GET();
            if (have > 0) {
                get.header("Range", "bytes=" + have + "-");
            }
            try {
                HttpResponse<InputStream> r = http.send(get.build(), HttpResponse.BodyHandlers.ofInputStream());
                boolean append = have > 0 && r.statusCode() == 206;
                if (r.statusCode() != 200 && r.statusCode() != 206) {
                    r.body().close();
                    throw new IOException("the hub answered " + r.statusCode() + " for " + uri);
                }
                try (InputStream in = r.body();
                        OutputStream out = Files.newOutputStream(
                                partial,
                                StandardOpenOption.CREATE,
                                append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING,
                                StandardOpenOption.WRITE)) {
                    in.transferTo(out);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while downloading " + uri + " (resumes from " + partial + ")", e);
            }
            verify(partial, etag, uri);
            Files.move(partial, blob, StandardCopyOption.ATOMIC_MOVE);
        }
        Files.createDirectories(link.getParent());
        try {
            Files.createSymbolicLink(link, link.getParent().relativize(blob));
        } catch (UnsupportedOperationException | FileSystemException e) {
            Files.copy(blob, link); // file systems without symbolic links: huggingface_hub copies too
        }
    }

    /** Checks a downloaded blob against its ETag: SHA-256 (LFS files) or the git blob SHA-1 (the others). */
    static void verify(Path file, String etag, URI uri) throws IOException {
        String algorithm = etag.length() == 64 ? "SHA-256" : etag.length() == 40 ? "SHA-1" : null;
        if (algorithm == null) {
            return;
        }
        MessageDigest md;
        try {
            md = MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        if (etag.length() == 40) {
            md.update(("blob " + Files.size(file) + "\0").getBytes(StandardCharsets.UTF_8));
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        }
        String got = HexFormat.of().formatHex(md.digest());
        if (!got.equalsIgnoreCase(etag)) {
            Files.delete(file);
            throw new IOException("checksum mismatch for " + uri + ": the hub's ETag is " + etag + " but the "
                    + algorithm + " of the download is " + got + " (the partial file was deleted; try again)");
        }
    }
}
