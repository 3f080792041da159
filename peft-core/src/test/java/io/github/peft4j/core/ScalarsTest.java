package io.github.peft4j.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.github.peft4j.core.testing.ForbiddenCalls;
import io.github.peft4j.core.testing.ManagedTest;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

class ScalarsTest extends ManagedTest {

    /**
     * Between forward and backward the garbage collector runs and the freed small buffers are reused with NaN; the
     * gradient must still be exact. (DJL's own {@code x.mul(3f)} gives a wrong gradient in this test: its constant
     * lived in a Java buffer that the collection freed.)
     */
    private static float[] gradientUnderGcPressure(BiFunction<NDArray, Double, NDArray> op, double c, DataType type)
            throws InterruptedException {
        try (NDManager s = manager.newSubManager()) {
            NDArray x = s.create(new float[] {1f, 2f, 3f, 4f}, new Shape(4)).toType(type, false);
            x.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray y = op.apply(x, c);
                System.gc();
                Thread.sleep(20);
                List<ByteBuffer> junk = new ArrayList<>();
                for (int i = 0; i < 4000; i++) {
                    ByteBuffer b = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
                    b.putDouble(0, Double.NaN);
                    junk.add(b);
                }
                gc.backward(y.sum());
                float[] g = x.getGradient().toType(DataType.FLOAT32, false).toFloatArray();
                junk.clear();
                return g;
            }
        }
    }

    @Test
    void gradientsThroughConstantsSurviveGarbageCollection() throws Exception {
        for (DataType t : new DataType[] {DataType.FLOAT32, DataType.FLOAT64}) {
            assertArrayEquals(new float[] {3, 3, 3, 3}, gradientUnderGcPressure(Scalars::mul, 3.0, t), 0f);
            assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f, 0.5f}, gradientUnderGcPressure(Scalars::div, 2.0, t), 0f);
            // d/dx x^2 = 2x
            assertArrayEquals(new float[] {2, 4, 6, 8}, gradientUnderGcPressure(Scalars::pow, 2.0, t), 1e-6f);
        }
    }

    @Test
    void constantTakesTypeAndValue() {
        try (NDManager s = manager.newSubManager()) {
            NDArray d = s.zeros(new Shape(2), DataType.FLOAT64);
            NDArray c = Scalars.of(d, 1.0 / 3);
            assertEquals(DataType.FLOAT64, c.getDataType());
            assertEquals(1.0 / 3, c.getDouble(), 0.0); // not rounded through float
            NDArray h = Scalars.of(s.zeros(new Shape(2), DataType.FLOAT16), 0.5);
            assertEquals(DataType.FLOAT16, h.getDataType());
            NDArray z = s.ones(new Shape(3));
            Scalars.fill(z, 0);
            assertArrayEquals(new float[3], z.toFloatArray(), 0f);
        }
    }

    @Test
    void coreCallsNoJavaBackedScalarOperation() throws Exception {
        assertEquals(List.of(), ForbiddenCalls.inPeft4jModules());
    }
}
