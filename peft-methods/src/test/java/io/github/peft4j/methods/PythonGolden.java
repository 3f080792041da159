package io.github.peft4j.methods;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.core.io.Safetensors;
import io.github.peft4j.models.decoder.Decoders;
import io.github.peft4j.testing.TinyDecoders;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The interop check of a method against Python PEFT on the tiny Llama: an adapter Python wrote (a folder of
 * {@code golden/<method>/llama} with its {@code expected_logits.safetensors}) loads in peft4j, gives Python's logits
 * with the adapter and merged within 1e-4, changes the base's logits, and is saved back with Python's keys, shapes and
 * values.
 */
public final class PythonGolden {

    private PythonGolden() {}

    private static long[][] rows(NDArray a) {
        long[] flat = a.toType(DataType.INT64, false).toLongArray();
        int n = Math.toIntExact(a.getShape().get(0));
        int t = Math.toIntExact(a.getShape().get(1));
        long[][] out = new long[n][t];
        for (int i = 0; i < n; i++) {
            System.arraycopy(flat, i * t, out[i], 0, t);
        }
        return out;
    }

    private static double diff(PeftModel peft, NDManager m, long[][] ids, long[][] mask, NDArray want) {
        try (NDManager s = m.newSubManager()) {
            NDArray logits = peft.forward(
                            new ParameterStore(s, false), new NDList(s.create(ids), s.create(mask)), false)
                    .singletonOrThrow();
            return TinyDecoders.maxDiffOnTokens(logits.toFloatArray(), want.toFloatArray(), mask, 512);
        }
    }

    /**
     * Runs the check.
     *
     * @param method the folder under {@code golden/}, e.g. {@code ia3}
     * @param tmp a scratch directory
     * @param tensors the number of tensors the adapter file must hold
     * @return the config peft4j saved back
     * @throws IOException if a file cannot be read or written
     * @throws URISyntaxException if the resource cannot be located
     */
    public static JsonNode check(String method, Path tmp, int tensors) throws IOException, URISyntaxException {
        return check(
                Path.of(PythonGolden.class
                        .getResource("/golden/" + method + "/llama")
                        .toURI()),
                tmp,
                tensors);
    }

    /**
     * Runs the check on a folder laid out as {@code golden/<method>/llama}.
     *
     * @param golden the folder: the adapter and its {@code expected_logits.safetensors}
     * @param tmp a scratch directory
     * @param tensors the number of tensors the adapter file must hold
     * @return the config peft4j saved back
     * @throws IOException if a file cannot be read or written
     */
    public static JsonNode check(Path golden, Path tmp, int tensors) throws IOException {
        String method = golden.getParent().getFileName().toString();
        Files.createDirectories(tmp);
        Path dir = TinyDecoders.copy("llama", tmp);
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> want = Safetensors.read(golden.resolve("expected_logits.safetensors"), m)
                    .tensors();
            long[][] ids = rows(want.get("input_ids"));
            long[][] mask = rows(want.get("attention_mask"));
            PeftModel peft = PeftModel.builder()
                    .setBaseModel(Decoders.load(dir.resolve("base"), m))
                    .build();
            peft.loadAdapter(golden, PeftModel.DEFAULT_ADAPTER);
            double adapted = diff(peft, m, ids, mask, want.get("adapted"));
            assertTrue(adapted <= 1e-4, method + " adapted: max |Δlogit| " + adapted);
            peft.merge();
            double merged = diff(peft, m, ids, mask, want.get("merged"));
            assertTrue(merged <= 1e-4, method + " merged: max |Δlogit| " + merged);
            peft.unmerge();
            peft.disableAdapters();
            double base = diff(peft, m, ids, mask, want.get("adapted"));
            assertTrue(base > 1e-2, method + ": the adapter changes the logits (" + base + ")");
            peft.enableAdapters();

            Path saved = tmp.resolve("saved");
            peft.saveAdapters(saved);
            Map<String, NDArray> python = Safetensors.read(golden.resolve("adapter_model.safetensors"), m)
                    .tensors();
            Map<String, NDArray> ours = Safetensors.read(saved.resolve("adapter_model.safetensors"), m)
                    .tensors();
            assertEquals(python.keySet(), ours.keySet());
            python.forEach((k, v) -> {
                assertEquals(v.getShape(), ours.get(k).getShape(), k);
                assertArrayEquals(v.toFloatArray(), ours.get(k).toFloatArray(), 0f, k);
            });
            assertEquals(tensors, ours.size(), method + ": tensors in the adapter file");
            return Json.MAPPER.readTree(saved.resolve("adapter_config.json").toFile());
        }
    }
}
