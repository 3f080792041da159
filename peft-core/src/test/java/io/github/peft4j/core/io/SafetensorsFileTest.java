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
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest extends ManagedTest {

    /** Writes a file by hand: an F32 [10, 7], a BF16 [5, 3] and an F16 [4] tensor. */
    private static Path mixedFile(Path dir, float[] f32, float[] bf, float[] h) throws IOException {
        ByteBuffer data = ByteBuffer.allocate(f32.length * 4 + bf.length * 2 + h.length * 2)
                .order(ByteOrder.LITTLE_ENDIAN);
        for (float v : f32) {
            data.putFloat(v);
        }
        for (float v : bf) {
            data.putShort((short) (Float.floatToIntBits(v) >>> 16));
        }
        for (float v : h) {
            data.putShort(toHalf(v));
        }
        int a = f32.length * 4;
        int b = a + bf.length * 2;
        int c = b + h.length * 2;
        String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[10,7],\"data_offsets\":[0," + a + "]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[5,3],\"data_offsets\":[" + a + "," + b + "]},"
                + "\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[" + b + "," + c + "]}}";
        return write(dir.resolve("m.safetensors"), header, data.array());
    }

    private static Path write(Path file, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        try (OutputStream os = Files.newOutputStream(file)) {
            os.write(ByteBuffer.allocate(8)
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(h.length)
                    .array());
            os.write(h);
            os.write(data);
        }
        return file;
    }

    /** Half precision of values exactly representable in it (small integers and halves). */
    private static short toHalf(float v) {
        int bits = Float.floatToIntBits(v);
        int sign = (bits >>> 16) & 0x8000;
        int exp = ((bits >>> 23) & 0xFF) - 127 + 15;
        int mant = (bits >>> 13) & 0x3FF;
        return (short) (v == 0 ? sign : sign | (exp << 10) | mant);
    }

    @Test
    void readsInRowChunksAndWidensHalfPrecision(@TempDir Path tmp) throws IOException {
        float[] f32 = new float[70];
        for (int i = 0; i < f32.length; i++) {
            f32[i] = i * 0.25f - 3;
        }
        float[] bf = {1, -2, 0.5f, 3, 4, 5, -6, 7, 8, 9, 10, 11, 12, 13, -0.125f};
        float[] h = {1, -2, 0.5f, 1024};
        Path f = mixedFile(tmp, f32, bf, h);
        // 28-byte chunks: the [10, 7] float tensor is read one row at a time
        try (SafetensorsFile file = SafetensorsFile.open(f, 28)) {
            assertEquals(3, file.tensors().size());
            NDArray w = file.read("w", manager);
            assertEquals(new Shape(10, 7), w.getShape());
            assertArrayEquals(f32, w.toFloatArray());
            NDArray b = file.read("b", manager);
            assertEquals(DataType.FLOAT32, b.getDataType(), "BF16 is widened in Java, never made an engine tensor");
            assertArrayEquals(bf, b.toFloatArray());
            assertArrayEquals(h, file.read("h", manager).toFloatArray());
            // into an existing array of another shape and type
            NDArray target = manager.zeros(new Shape(70), DataType.FLOAT64);
            file.readInto("w", target);
            for (int i = 0; i < 70; i++) {
                assertEquals(f32[i], target.getDouble(i), 0);
            }
            assertThrows(IllegalArgumentException.class, () -> file.readInto("w", manager.zeros(new Shape(69))));
            IllegalArgumentException missing =
                    assertThrows(IllegalArgumentException.class, () -> file.read("nope", manager));
            assertTrue(missing.getMessage().contains("no tensor 'nope'"), missing.getMessage());
        }
    }

    @Test
    void refusesAHeaderThatClaimsMoreThanTheFileHolds(@TempDir Path tmp) throws IOException {
        Path f = write(
                tmp.resolve("huge.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[262144,1048576],\"data_offsets\":[0,1099511627776]}}",
                new byte[16]);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("outside the data section of 16 bytes"), e.getMessage());
        Path overflow = write(
                tmp.resolve("overflow.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,16]}}",
                new byte[16]);
        e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(overflow));
        assertTrue(e.getMessage().contains("too large to exist"), e.getMessage());
    }

    /**
     * A tensor of 2.29 GB (more than a Java array or buffer holds) in a sparse file: read by mapping a chunk at a
     * time, with the values at its start, just past the 2 GiB boundary and at its end in place.
     */
    @Test
    void readsATensorLargerThan2GiB(@TempDir Path tmp) throws IOException {
        long rows = 140_000;
        long cols = 4096;
        long bytes = rows * cols * 4;
        String header = "{\"big\":{\"dtype\":\"F32\",\"shape\":[" + rows + "," + cols + "],\"data_offsets\":[0," + bytes
                + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path f = tmp.resolve("big.safetensors");
        long past2GiB = (1L << 31) / 4 + 5; // element index just past the 2 GiB byte boundary
        long last = rows * cols - 1;
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(
                f, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, h.length), 0);
            ch.write(ByteBuffer.wrap(h), 8);
            long data = 8 + h.length;
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, 1.5f), data);
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, -2.5f), data + past2GiB * 4);
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, 7f), data + last * 4);
        }
        assertEquals(8 + h.length + bytes, Files.size(f));
        try (SafetensorsFile file = SafetensorsFile.open(f);
                ai.djl.ndarray.NDManager m = manager.newSubManager()) {
            NDArray big = file.read("big", m);
            assertEquals(new Shape(rows, cols), big.getShape());
            NDArray flat = big.reshape(-1);
            assertEquals(1.5f, flat.getFloat(0));
            assertEquals(-2.5f, flat.getFloat(past2GiB));
            assertEquals(0f, flat.getFloat(past2GiB + 1));
            assertEquals(7f, flat.getFloat(last));
        }
    }
}
