package io.github.peft4j.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.github.peft4j.models.decoder.Decoders;
import io.github.peft4j.models.hub.HubCache;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hub ids resolve through the Hugging Face cache layout, downloading from a hub on 127.0.0.1 that this test serves
 * with the tiny Llama's files: listing, HEAD for the ETag (SHA-256 for LFS files as {@code X-Linked-Etag}, the git
 * blob SHA-1 for the others), ranged GETs. No other network is touched.
 */
class HubCacheTest {

    private static final String SHA = "0123456789abcdef0123456789abcdef01234567";
    private static final String REPO = "peft4j-test/tiny-llama";

    @TempDir
    Path tmp;

    private HttpServer server;
    private final Map<String, byte[]> files = new TreeMap<>();
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private volatile boolean corrupt;

    @BeforeEach
    void serve() throws IOException {
        Path base = TinyDecoders.copy("llama", tmp.resolve("src")).resolve("base");
        try (var s = Files.list(base)) {
            for (Path f : (Iterable<Path>) s::iterator) {
                files.put(f.getFileName().toString(), Files.readAllBytes(f));
            }
        }
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    private static String hex(String algorithm, byte[]... parts) {
        try {
            MessageDigest md = MessageDigest.getInstance(algorithm);
            for (byte[] p : parts) {
                md.update(p);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        String range = ex.getRequestHeaders().getFirst("Range");
        requests.add(ex.getRequestMethod() + " " + path + (range == null ? "" : " " + range));
        byte[] body;
        int status = 200;
        if (path.equals("/api/models/" + REPO + "/revision/main")) {
            List<String> siblings = new ArrayList<>(files.keySet());
            siblings.add("pytorch_model.bin"); // not fetched: peft4j reads safetensors
            StringBuilder json = new StringBuilder("{\"sha\":\"" + SHA + "\",\"siblings\":[");
            for (int i = 0; i < siblings.size(); i++) {
                json.append(i == 0 ? "" : ",")
                        .append("{\"rfilename\":\"")
                        .append(siblings.get(i))
                        .append("\"}");
            }
            body = json.append("]}").toString().getBytes(StandardCharsets.UTF_8);
        } else if (path.startsWith("/" + REPO + "/resolve/" + SHA + "/")) {
            String name = path.substring(path.lastIndexOf('/') + 1);
            byte[] content = files.get(name);
            if (content == null) {
                ex.sendResponseHeaders(404, -1);
                ex.close();
                return;
            }
            if (name.endsWith(".safetensors")) {
                ex.getResponseHeaders().add("X-Linked-Etag", "\"" + hex("SHA-256", content) + "\"");
                ex.getResponseHeaders().add("ETag", "\"some-cdn-etag\"");
            } else {
                String header = "blob " + content.length + "\0";
                ex.getResponseHeaders()
                        .add("ETag", "\"" + hex("SHA-1", header.getBytes(StandardCharsets.UTF_8), content) + "\"");
            }
            if (ex.getRequestMethod().equals("HEAD")) {
                ex.sendResponseHeaders(200, -1);
                ex.close();
                return;
            }
            body = content.clone();
            if (corrupt) {
                body[body.length / 2] ^= 1;
            }
            if (range != null) {
                int from = Integer.parseInt(range.replace("bytes=", "").replace("-", ""));
                body = java.util.Arrays.copyOfRange(body, from, body.length);
                status = 206;
            }
        } else {
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
        }
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(body);
        }
    }

    private URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    @Test
    void downloadsIntoTheHuggingFaceLayoutThenServesFromTheCache() throws IOException {
        Path cache = tmp.resolve("hub");
        HubCache hub = HubCache.of(cache, endpoint(), false, null);
        Path snap = hub.resolve(REPO, "main");
        Path repo = cache.resolve("models--peft4j-test--tiny-llama");
        assertEquals(repo.resolve("snapshots").resolve(SHA), snap);
        assertEquals(SHA, Files.readString(repo.resolve("refs/main")));
        assertTrue(Files.isSymbolicLink(snap.resolve("model.safetensors")), "snapshot files link to blobs");
        assertTrue(Files.readSymbolicLink(snap.resolve("model.safetensors"))
                .toString()
                .startsWith("../../blobs/"));
        assertFalse(Files.exists(snap.resolve("pytorch_model.bin")));
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            assertArrayEquals(f.getValue(), Files.readAllBytes(snap.resolve(f.getKey())), f.getKey());
        }
        try (NDManager m = NDManager.newBaseManager()) {
            assertEquals(2, Decoders.load(snap, m).getConfig().numLayers());
        }

        server.stop(0);
        server = null;
        int before = requests.size();
        assertEquals(
                snap,
                HubCache.of(cache, URI.create("http://127.0.0.1:9"), true, null).resolve(REPO, "main"));
        assertEquals(before, requests.size(), "a cached model needs no request");

        IOException offline =
                assertThrows(IOException.class, () -> HubCache.of(cache, URI.create("http://127.0.0.1:9"), true, null)
                        .resolve("org/absent", "main"));
        assertTrue(offline.getMessage().contains("HF_HUB_OFFLINE"), offline.getMessage());
    }

    /** Names from the cache's files or from the user never leave the cache: a ref holding a path, a revision with '..'. */
    @Test
    void refsAndRevisionsCannotPointOutsideTheCache() throws IOException {
        Path cache = tmp.resolve("hub-escape");
        // a model directory outside the cache that a planted ref would reach through snapshots/../../..
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("config.json"), "{}");
        Path repo = cache.resolve("models--peft4j-test--tiny-llama");
        Files.createDirectories(repo.resolve("refs"));
        Files.createDirectories(repo.resolve("snapshots"));
        Files.writeString(repo.resolve("refs/main"), "../../../outside");
        HubCache hub = HubCache.of(cache, URI.create("http://127.0.0.1:9"), true, null);
        IOException ref = assertThrows(IOException.class, () -> hub.resolve(REPO, "main"));
        assertTrue(ref.getMessage().contains("does not hold a commit hash"), ref.getMessage());
        for (String bad : new String[] {"../../outside", "a/../../b", "/etc", "main/", ""}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> hub.cached(REPO, bad));
            assertTrue(e.getMessage().contains("is not a revision"), e.getMessage());
        }
        // the hub's own ref names stay valid
        assertTrue(hub.cached(REPO, "refs/pr/1").isEmpty());
        assertTrue(hub.cached(REPO, "v1.0-rc_2").isEmpty());
    }

    @Test
    void resumesAPartialDownloadAndRejectsCorruptBytes() throws IOException {
        Path cache = tmp.resolve("hub");
        byte[] weights = files.get("model.safetensors");
        String etag = hex("SHA-256", weights);
        Path blobs = cache.resolve("models--peft4j-test--tiny-llama/blobs");
        Files.createDirectories(blobs);
        Files.write(blobs.resolve(etag + ".incomplete"), java.util.Arrays.copyOf(weights, weights.length / 3));
        Path snap = HubCache.of(cache, endpoint(), false, null).resolve(REPO, "main");
        assertArrayEquals(weights, Files.readAllBytes(snap.resolve("model.safetensors")));
        assertTrue(
                requests.contains(
                        "GET /" + REPO + "/resolve/" + SHA + "/model.safetensors bytes=" + weights.length / 3 + "-"),
                "the download resumed with a Range request: " + requests);

        corrupt = true;
        Path other = tmp.resolve("hub2");
        IOException e = assertThrows(IOException.class, () -> HubCache.of(other, endpoint(), false, null)
                .resolve(REPO, "main"));
        assertTrue(e.getMessage().contains("checksum mismatch"), e.getMessage());
        assertFalse(
                Files.exists(other.resolve("models--peft4j-test--tiny-llama/refs/main")),
                "a failed download leaves no ref behind");
    }
}
