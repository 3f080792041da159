package io.github.peft4j.core.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
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
     * Reads and validates a file. Half-precision tensors (F16, BF16) are upcast to float32.
     *
     * @param file the file
     * @param manager the manager that owns the arrays
     * @return the tensors (named, in file order) and metadata
     * @throws SafetensorsException if the file is truncated, corrupted or malformed
     * @throws IOException if it cannot be read
     */
    public static Contents read(Path file, NDManager manager) throws IOException {
        long size = Files.size(file);
        if (size < 8) {
            throw new SafetensorsException(file + " is not a safetensors file: " + size + " bytes, shorter than the"
                    + " 8-byte header length");
        }
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (n < 2 || n > MAX_HEADER_BYTES || n > size - 8) {
            throw new SafetensorsException(file + " is truncated or not a safetensors file: header length " + n
                    + " does not fit the file of " + size + " bytes (limit " + MAX_HEADER_BYTES + ")");
        }
        JsonNode header;
        try {
            header = Json.MAPPER.readTree(new String(bytes, 8, (int) n, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new SafetensorsException(file + " has a corrupted safetensors header (not valid JSON)", e);
        }
        if (header == null || !header.isObject()) {
            throw new SafetensorsException(file + " has a corrupted safetensors header: expected a JSON object");
        }
        long dataStart = 8 + n;
        long dataLen = size - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if ("__metadata__".equals(f.getKey())) {
                for (Iterator<Map.Entry<String, JsonNode>> m = f.getValue().fields(); m.hasNext(); ) {
                    Map.Entry<String, JsonNode> kv = m.next();
                    if (!kv.getValue().isTextual()) {
                        throw new SafetensorsException(file + ": __metadata__ must map strings to strings; key '"
                                + kv.getKey() + "' has " + kv.getValue());
                    }
                    metadata.put(kv.getKey(), kv.getValue().asText());
                }
                continue;
            }
            entries.add(parseEntry(file, f.getKey(), f.getValue(), dataLen));
        }
        entries.sort(Comparator.comparingLong(Entry::begin));
        long expected = 0;
        for (Entry e : entries) {
            if (e.begin != expected) {
                throw new SafetensorsException(file + ": tensor '" + e.name + "' starts at byte " + e.begin
                        + " of the data section but " + expected + " was expected (gap or overlap: the file is"
                        + " corrupted)");
            }
            expected = e.end;
        }
        if (expected != dataLen) {
            throw new SafetensorsException(file + " is truncated or corrupted: the tensors cover " + expected
                    + " bytes but the data section has " + dataLen);
        }
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (Entry e : entries) {
            ByteBuffer bb = ByteBuffer.wrap(bytes, (int) (dataStart + e.begin), (int) (e.end - e.begin))
                    .slice()
                    .order(ByteOrder.LITTLE_ENDIAN);
            NDArray a = manager.create(bb, e.shape, e.dtype);
            if (e.dtype == DataType.FLOAT16 || e.dtype == DataType.BFLOAT16) {
                NDArray up = a.toType(DataType.FLOAT32, false);
                a.close();
                a = up;
            }
            a.setName(e.name);
            tensors.put(e.name, a);
        }
        return new Contents(tensors, metadata);
    }

    private record Entry(String name, DataType dtype, Shape shape, long begin, long end) {}

    private static Entry parseEntry(Path file, String name, JsonNode t, long dataLen) throws SafetensorsException {
        String where = file + ": tensor '" + name + "'";
        if (!t.isObject()
                || !t.path("dtype").isTextual()
                || !t.path("shape").isArray()
                || !t.path("data_offsets").isArray()
                || t.path("data_offsets").size() != 2) {
            throw new SafetensorsException(where + " needs dtype, shape and data_offsets [begin, end]; got " + t);
        }
        DataType dtype;
        try {
            dtype = DataType.fromSafetensors(t.get("dtype").asText());
        } catch (IllegalArgumentException e) {
            throw new SafetensorsException(
                    where + " has unknown dtype '" + t.get("dtype").asText() + "'", e);
        }
        long[] dims = new long[t.get("shape").size()];
        long numel = 1;
        for (int i = 0; i < dims.length; i++) {
            JsonNode d = t.get("shape").get(i);
            if (!d.canConvertToLong() || d.asLong() < 0) {
                throw new SafetensorsException(where + " has an invalid shape " + t.get("shape"));
            }
            dims[i] = d.asLong();
            numel = Math.multiplyExact(numel, dims[i]);
        }
        long begin = t.get("data_offsets").get(0).asLong(-1);
        long end = t.get("data_offsets").get(1).asLong(-1);
        if (begin < 0 || end < begin || end > dataLen) {
            throw new SafetensorsException(where + " has data_offsets [" + begin + ", " + end + ") outside the data"
                    + " section of " + dataLen + " bytes (truncated or corrupted file)");
        }
        long bytes = numel * dtype.getNumOfBytes();
        if (end - begin != bytes) {
            throw new SafetensorsException(where + " has " + (end - begin) + " bytes but shape " + t.get("shape")
                    + " of " + dtype.asSafetensors() + " needs " + bytes);
        }
        return new Entry(name, dtype, new Shape(dims), begin, end);
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
