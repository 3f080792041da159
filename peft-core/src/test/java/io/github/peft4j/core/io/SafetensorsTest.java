package io.github.peft4j.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.peft4j.core.testing.ManagedTest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest extends ManagedTest {

    @Test
    void writesTheCanonicalLayout(@TempDir Path tmp) throws IOException {
        Map<String, NDArray> t = new LinkedHashMap<>();
        t.put("b", manager.create(new float[] {1, 2, 3, 4, 5, 6}, new Shape(2, 3)));
        t.put("a", manager.create(new long[] {7, -8}));
        Path f = tmp.resolve("x.safetensors");
        Safetensors.write(f, t, Map.of("format", "pt"));
        byte[] bytes = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8, "header is padded to 8 bytes");
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8).trim();
        assertEquals(
                "{\"__metadata__\":{\"format\":\"pt\"},"
                        + "\"a\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[16,40]}}",
                header);
        assertEquals(8 + n + 40, bytes.length);
        // little-endian float 1.0 at the start of b
        assertEquals(
                1.0f,
                ByteBuffer.wrap(bytes, (int) (8 + n + 16), 4)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .getFloat());

        Safetensors.Contents c = Safetensors.read(f, manager);
        assertEquals(Map.of("format", "pt"), c.metadata());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, c.tensors().get("b").toFloatArray());
        assertArrayEquals(new long[] {7, -8}, c.tensors().get("a").toLongArray());
    }

    @Test
    void halfPrecisionIsUpcastOnLoad(@TempDir Path tmp) throws IOException {
        Path f = tmp.resolve("h.safetensors");
        NDArray h = manager.create(new float[] {0.5f, -2f}).toType(DataType.FLOAT16, false);
        Safetensors.write(f, Map.of("h", h), Map.of());
        NDArray back = Safetensors.read(f, manager).tensors().get("h");
        assertEquals(DataType.FLOAT32, back.getDataType());
        assertArrayEquals(new float[] {0.5f, -2f}, back.toFloatArray());
    }

    private static Path file(Path tmp, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer bb = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        bb.putLong(h.length).put(h);
        Path f = tmp.resolve("bad.safetensors");
        Files.write(f, bb.array());
        return f;
    }

    @Test
    void rejectsMalformedFiles(@TempDir Path tmp) throws IOException {
        String[][] cases = {
            {"[1,2]", "0", "expected a JSON object"},
            {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", "8", "needs 12"},
            {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "4", "outside the data section"},
            {"{\"a\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", "8", "unknown dtype 'Q7'"},
            {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "8", "the tensors cover 4 bytes"},
            {"{\"__metadata__\":{\"x\":1}}", "0", "__metadata__ must map strings to strings"},
        };
        for (String[] c : cases) {
            Path f = file(tmp, c[0], Integer.parseInt(c[1]));
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> Safetensors.read(f, manager), c[0]);
            assertTrue(e.getMessage().contains(c[2]), e.getMessage());
        }
        Path tiny = tmp.resolve("tiny");
        Files.write(tiny, new byte[] {1, 2});
        assertThrows(SafetensorsException.class, () -> Safetensors.read(tiny, manager));
        ByteBuffer huge = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40);
        Path big = tmp.resolve("big");
        Files.write(big, huge.array());
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Safetensors.read(big, manager));
        assertTrue(e.getMessage().contains("header length 1099511627776 does not fit"), e.getMessage());
    }
}
