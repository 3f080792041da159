package io.github.peft4j.core.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads and writes the safetensors format (https://github.com/huggingface/safetensors).
 *
 * <p>Why not DJL's {@code NDList.encode(SAFETENSORS)}: in DJL 0.36 it writes no {@code __metadata__} (Python PEFT
 * expects {@code {"format": "pt"}}), orders the header by hash, and its decoder validates nothing (a truncated or
 * overlapping file decodes into garbage). This class writes the canonical layout (sorted names, header padded to 8
 * bytes) and rejects every malformed file with a message that names the file and the fault.
 */
public final class Safetensors {

    /** The largest header accepted (as the reference implementation). */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private Safetensors() {}

    /** A file's tensors and metadata. */
    public record Contents(Map<String, NDArray> tensors, Map<String, String> metadata) {}

    /**
     * Writes tensors to a file (not atomically: callers write into a temporary directory).
     *
     * @param file the file
     * @param tensors name to array; written sorted by name
     * @param metadata the {@code __metadata__} map (may be empty)
     * @throws IOException if writing fails
     */
    public static void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata) throws IOException {
        Map<String, NDArray> sorted = new TreeMap<>(tensors);
        ObjectNode header = Json.MAPPER.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode md = header.putObject("__metadata__");
            new TreeMap<>(metadata).forEach(md::put);
        }
        long offset = 0;
        List<byte[]> blobs = new ArrayList<>();
        for (Map.Entry<String, NDArray> e : sorted.entrySet()) {
            NDArray a = e.getValue();
            byte[] data = littleEndianBytes(a, e.getKey());
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", a.getDataType().asSafetensors());
            ArrayNode shape = t.putArray("shape");
            for (long d : a.getShape().getShape()) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(offset).add(offset + data.length);
            offset += data.length;
            blobs.add(data);
        }
        byte[] json = Json.MAPPER.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        byte[] head = new byte[padded];
        System.arraycopy(json, 0, head, 0, json.length);
        for (int i = json.length; i < padded; i++) {
            head[i] = ' ';
        }
        try (OutputStream os = Files.newOutputStream(file)) {
            os.write(ByteBuffer.allocate(8)
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(padded)
                    .array());
            os.write(head);
            for (byte[] b : blobs) {
                os.write(b);
            }
        }
    }

    /**
     * Reads and validates a whole file (adapters, checkpoints: small files). Half-precision tensors (F16, BF16) are
     * upcast to float32. Model weights, which may exceed 2 GiB, are read tensor by tensor with
     * {@link SafetensorsFile}.
     *
     * @param file the file
     * @param manager the manager that owns the arrays
     * @return the tensors (named, in file order) and metadata
     * @throws SafetensorsException if the file is truncated, corrupted or malformed
     * @throws IOException if it cannot be read
     */
    public static Contents read(Path file, NDManager manager) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            try {
                for (String name : f.tensors().keySet()) {
                    tensors.put(name, f.read(name, manager));
                }
            } catch (IOException | RuntimeException e) {
                tensors.values().forEach(NDArray::close);
                throw e;
            }
            return new Contents(tensors, f.metadata());
        }
    }

    private static byte[] littleEndianBytes(NDArray a, String name) {
        ByteBuffer bb = a.toByteBuffer();
        if (bb.order() != ByteOrder.LITTLE_ENDIAN && a.getDataType().getNumOfBytes() > 1) {
            throw new IllegalStateException("tensor '" + name + "': the engine returned big-endian data, which"
                    + " safetensors does not store");
        }
        byte[] out = new byte[bb.remaining()];
        bb.get(out);
        return out;
    }
}
