package io.github.peft4j.core.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.peft4j.core.ParameterValues;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An open safetensors file whose tensors are read on demand by memory mapping, a bounded chunk at a time: files and
 * tensors larger than 2 GiB load without a whole-file copy (DJL's own decoder reads the file into one {@code byte[]}
 * and stops at 2 GB). The header is validated when the file is opened: every tensor's offsets must lie inside the
 * file and tile the data section exactly, so a header that claims more than the file holds is refused before any
 * tensor memory is allocated.
 *
 * <p>Half-precision tensors are widened to float32 on the Java side for BF16 (DJL's stock PyTorch natives abort the
 * JVM on any BFLOAT16 tensor) and by the engine for F16.
 */
public final class SafetensorsFile implements AutoCloseable {

    /** The bytes of one mapped chunk; larger tensors are read in row blocks of about this size. */
    static final long CHUNK_BYTES = 64L * 1024 * 1024;

    private final long chunkBytes;

    /**
     * One tensor's header entry.
     *
     * @param name the tensor name
     * @param dtype the stored data type
     * @param shape the shape
     * @param begin the first byte in the data section
     * @param end one past the last byte in the data section
     */
    public record TensorInfo(String name, DataType dtype, Shape shape, long begin, long end) {

        /**
         * The number of elements.
         *
         * @return the element count
         */
        public long size() {
            return shape.size();
        }
    }

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(
            Path file,
            FileChannel channel,
            long dataStart,
            Map<String, TensorInfo> tensors,
            Map<String, String> metadata,
            long chunkBytes) {
        this.chunkBytes = chunkBytes;
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /**
     * Opens a file and validates its header (not the tensor bytes).
     *
     * @param file the file
     * @return the open file; close it when done
     * @throws SafetensorsException if the file is truncated, corrupted or malformed (naming the file and the fault)
     * @throws IOException if it cannot be read
     */
    public static SafetensorsFile open(Path file) throws IOException {
        return open(file, CHUNK_BYTES);
    }

    static SafetensorsFile open(Path file, long chunkBytes) throws IOException {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        try {
            return parse(file, ch, chunkBytes);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static SafetensorsFile parse(Path file, FileChannel ch, long chunkBytes) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw new SafetensorsException(file + " is not a safetensors file: " + size + " bytes, shorter than the"
                    + " 8-byte header length");
        }
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, len, 0);
        long n = len.getLong(0);
        if (n < 2 || n > Safetensors.MAX_HEADER_BYTES || n > size - 8) {
            throw new SafetensorsException(file + " is truncated or not a safetensors file: header length " + n
                    + " does not fit the file of " + size + " bytes (limit " + Safetensors.MAX_HEADER_BYTES + ")");
        }
        ByteBuffer head = ByteBuffer.allocate((int) n);
        readFully(ch, head, 8);
        JsonNode header;
        try {
            header = Json.MAPPER.readTree(new String(head.array(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new SafetensorsException(file + " has a corrupted safetensors header (not valid JSON)", e);
        }
        if (header == null || !header.isObject()) {
            throw new SafetensorsException(file + " has a corrupted safetensors header: expected a JSON object");
        }
        long dataStart = 8 + n;
        long dataLen = size - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<TensorInfo> entries = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if ("__metadata__".equals(f.getKey())) {
                if (!f.getValue().isObject()) {
                    throw new SafetensorsException(file + ": __metadata__ must be an object; got " + f.getValue());
                }
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
        entries.sort(Comparator.comparingLong(TensorInfo::begin));
        long expected = 0;
        for (TensorInfo e : entries) {
            if (e.begin() != expected) {
                throw new SafetensorsException(file + ": tensor '" + e.name() + "' starts at byte " + e.begin()
                        + " of the data section but " + expected + " was expected (gap or overlap: the file is"
                        + " corrupted)");
            }
            expected = e.end();
        }
        if (expected != dataLen) {
            throw new SafetensorsException(file + " is truncated or corrupted: the tensors cover " + expected
                    + " bytes but the data section has " + dataLen);
        }
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (TensorInfo e : entries) {
            byName.put(e.name(), e);
        }
        return new SafetensorsFile(file, ch, dataStart, byName, metadata, chunkBytes);
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long position) throws IOException {
        long pos = position;
        while (dst.hasRemaining()) {
            int r = ch.read(dst, pos);
            if (r < 0) {
                throw new SafetensorsException("unexpected end of file at byte " + pos);
            }
            pos += r;
        }
    }

    private static TensorInfo parseEntry(Path file, String name, JsonNode t, long dataLen) throws SafetensorsException {
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
            try {
                numel = Math.multiplyExact(numel, dims[i]);
            } catch (ArithmeticException e) {
                throw new SafetensorsException(where + " has a shape " + t.get("shape") + " too large to exist", e);
            }
        }
        JsonNode b = t.get("data_offsets").get(0);
        JsonNode en = t.get("data_offsets").get(1);
        long begin = b.canConvertToLong() ? b.asLong() : -1;
        long end = en.canConvertToLong() ? en.asLong() : -1;
        if (begin < 0 || end < begin || end > dataLen) {
            throw new SafetensorsException(where + " has data_offsets [" + b + ", " + en + ") outside the data"
                    + " section of " + dataLen + " bytes (truncated or corrupted file)");
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(numel, (long) dtype.getNumOfBytes());
        } catch (ArithmeticException e) {
            throw new SafetensorsException(where + " has a shape " + t.get("shape") + " too large to exist", e);
        }
        if (end - begin != bytes) {
            throw new SafetensorsException(where + " has " + (end - begin) + " bytes but shape " + t.get("shape")
                    + " of " + dtype.asSafetensors() + " needs " + bytes);
        }
        return new TensorInfo(name, dtype, new Shape(dims), begin, end);
    }

    /**
     * The file.
     *
     * @return the path
     */
    public Path path() {
        return file;
    }

    /**
     * The tensors' header entries, in file order.
     *
     * @return name to entry
     */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /**
     * The {@code __metadata__} map.
     *
     * @return key to value (empty if absent)
     */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * Reads one tensor into memory the engine owns. Half-precision tensors (F16, BF16) come back as float32; other
     * types as stored.
     *
     * @param name the tensor
     * @param manager owns the result
     * @return the tensor, named
     * @throws IOException if it cannot be read
     * @throws IllegalArgumentException if the file has no such tensor
     */
    public NDArray read(String name, NDManager manager) throws IOException {
        TensorInfo info = info(name);
        DataType type =
                info.dtype() == DataType.FLOAT16 || info.dtype() == DataType.BFLOAT16 ? DataType.FLOAT32 : info.dtype();
        NDArray out = manager.zeros(info.shape(), type);
        try {
            readInto(name, out);
        } catch (IOException | RuntimeException e) {
            out.close();
            throw e;
        }
        out.setName(name);
        return out;
    }

    /**
     * Copies one tensor into an existing array of the same number of elements (its shape may differ: the values are
     * taken in row-major order), converting to the array's data type, without recording an autograd operation. The
     * file is mapped a row block at a time, so neither the file nor the tensor is ever copied whole on the Java
     * side.
     *
     * @param name the tensor
     * @param target the array to fill (contiguous, as parameters are), on any device
     * @throws IOException if it cannot be read
     * @throws IllegalArgumentException if the file has no such tensor or the element counts differ
     */
    public void readInto(String name, NDArray target) throws IOException {
        TensorInfo info = info(name);
        if (info.size() != target.size()) {
            throw new IllegalArgumentException(file + ": tensor '" + name + "' has shape " + info.shape()
                    + " but the destination has shape " + target.getShape());
        }
        if (info.size() == 0) {
            return;
        }
        Shape stored = info.shape().dimension() == 0 ? new Shape(1) : info.shape();
        long rows = stored.get(0);
        long rowElems = info.size() / rows;
        int srcBytes = info.dtype().getNumOfBytes();
        long rowsPerChunk = Math.max(1, chunkBytes / Math.max(1, rowElems * Math.max(4, srcBytes)));
        Shape rowShape = stored.slice(1);
        try (NDArray view = target.stopGradient();
                NDArray flat = view.getShape().equals(stored) ? view.stopGradient() : view.reshape(stored)) {
            for (long r0 = 0; r0 < rows; r0 += rowsPerChunk) {
                long r1 = Math.min(rows, r0 + rowsPerChunk);
                long elems = (r1 - r0) * rowElems;
                ByteBuffer mapped = channel.map(
                                FileChannel.MapMode.READ_ONLY,
                                dataStart + info.begin() + r0 * rowElems * srcBytes,
                                elems * srcBytes)
                        .order(ByteOrder.LITTLE_ENDIAN);
                ByteBuffer buf = mapped;
                DataType bufType = info.dtype();
                if (bufType == DataType.BFLOAT16) {
                    buf = bf16ToFloat32(mapped, Math.toIntExact(elems));
                    bufType = DataType.FLOAT32;
                }
                Shape chunkShape = new Shape(r1 - r0).addAll(rowShape);
                try (NDManager tmp = target.getManager().newSubManager()) {
                    NDArray chunk = tmp.create(buf, chunkShape, bufType);
                    if (r0 == 0 && r1 == rows) {
                        ParameterValues.copyInto(flat, chunk);
                    } else {
                        NDArray value = chunk.getDataType() == flat.getDataType()
                                ? chunk
                                : chunk.toType(flat.getDataType(), false);
                        flat.set(new NDIndex(r0 + ":" + r1), value);
                    }
                }
            }
        } catch (IOException e) {
            throw new IOException(file + ": cannot read tensor '" + name + "': " + e.getMessage(), e);
        }
    }

    private TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new IllegalArgumentException(file + " has no tensor '" + name + "'");
        }
        return info;
    }

    /** Widens bfloat16 to float32: the bf16 bits are the upper half of the float32 bits. */
    private static ByteBuffer bf16ToFloat32(ByteBuffer src, int elems) {
        ByteBuffer out = ByteBuffer.allocateDirect(elems * 4).order(ByteOrder.nativeOrder());
        for (int i = 0; i < elems; i++) {
            out.putInt(i * 4, (src.getShort(i * 2) & 0xFFFF) << 16);
        }
        return out;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
