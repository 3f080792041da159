package io.github.peft4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import io.github.peft4j.core.testing.ManagedTest;
import io.github.peft4j.core.testing.TestModels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link FineTuner} as a data-parallel replica, with in-process transports (the multi-process runs are peft-spark's
 * tests): the update is made of what the transport returns, read from and written to the gradients' own memory; the
 * replicas' shares of a batch; rank 0 alone writes.
 */
class DataParallelTest extends ManagedTest {

    /** A transport for tests: applies {@code edit} to the buffers, records what it saw. */
    private static final class Fake implements DataParallel {
        final int rank;
        final int worldSize;
        final Consumer<List<ByteBuffer>> edit;
        final List<Integer> sizes = new ArrayList<>();

        Fake(int rank, int worldSize, Consumer<List<ByteBuffer>> edit) {
            this.rank = rank;
            this.worldSize = worldSize;
            this.edit = edit;
        }

        @Override
        public int rank() {
            return rank;
        }

        @Override
        public int worldSize() {
            return worldSize;
        }

        @Override
        public void allReduceMean(List<ByteBuffer> buffers) {
            sizes.add(buffers.size());
            edit.accept(buffers);
        }

        @Override
        public void barrier() {
            // one process: nothing to wait for
        }
    }

    private static void fill(List<ByteBuffer> buffers, float value) {
        for (ByteBuffer b : buffers) {
            for (int i = 0; i < b.limit(); i += Float.BYTES) {
                b.putFloat(i, value);
            }
        }
    }

    private static Block mlp() {
        Block m = TestModels.mlp(manager, 1, DataType.FLOAT32);
        m.getParameters().values().forEach(p -> p.freeze(false));
        return m;
    }

    private static FineTuneConfig config() {
        return FineTuneConfig.builder()
                .optLearningRate(1e-2)
                .optBatchSize(8)
                .optMaxSteps(6)
                .optSeed(5)
                .optWeightDecay(0)
                .optCheckpointEvery(3)
                .build();
    }

    private static Map<String, float[]> values(Block m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        m.getParameters()
                .forEach(p -> out.put(p.getKey(), p.getValue().getArray().toFloatArray()));
        return out;
    }

    private static Map<String, float[]> train(DataParallel dp, Path out) throws IOException {
        Block m = mlp();
        FineTuner.Builder b = FineTuner.builder().setModel(m).setConfig(config());
        if (dp != null) {
            b.optDataParallel(dp);
        }
        b.build().fit(VectorTask.make(TestModels.mlp(manager, 77, DataType.FLOAT32), 64, 4, manager), out, null);
        return values(m);
    }

    @Test
    void oneReplicaWithAnIdentityTransportTrainsAsOneProcess(@TempDir Path tmp) throws IOException {
        Map<String, float[]> plain = train(null, tmp.resolve("plain"));
        Fake identity = new Fake(0, 1, b -> {});
        Map<String, float[]> replica = train(identity, tmp.resolve("replica"));
        for (String k : plain.keySet()) {
            assertArrayEquals(plain.get(k), replica.get(k), k); // the MLP has no dropout: bit for bit
        }
        // one call per step, every gradient and the loss in it
        assertEquals(6, identity.sizes.size());
        assertEquals(values(mlp()).size() + 1, identity.sizes.get(0));
    }

    @Test
    void theUpdateIsMadeOfWhatTheTransportWritesBack(@TempDir Path tmp) throws IOException {
        Map<String, float[]> start = values(mlp());
        // zero gradients (and no weight decay): AdamW moves nothing, so the gradients were read from the buffers
        Map<String, float[]> zeroed = train(new Fake(0, 1, b -> fill(b.subList(0, b.size() - 1), 0)), tmp.resolve("z"));
        for (String k : start.keySet()) {
            assertArrayEquals(start.get(k), zeroed.get(k), k);
        }
        // a non-finite mean loss from the transport skips every update
        Map<String, float[]> nan =
                train(new Fake(0, 1, b -> b.get(b.size() - 1).putFloat(0, Float.NaN)), tmp.resolve("n"));
        for (String k : start.keySet()) {
            assertArrayEquals(start.get(k), nan.get(k), k);
        }
        List<String> lines = Files.readAllLines(tmp.resolve("n/metrics.jsonl"));
        assertTrue(lines.stream().allMatch(l -> l.contains("\"skipped\":true")), lines.get(0));
    }

    @Test
    void onlyRankZeroWrites(@TempDir Path tmp) throws IOException {
        train(new Fake(1, 2, b -> {}), tmp.resolve("rank1"));
        assertFalse(Files.exists(tmp.resolve("rank1/metrics.jsonl")));
        assertFalse(Files.exists(tmp.resolve("rank1/checkpoint")));
        train(new Fake(0, 2, b -> {}), tmp.resolve("rank0"));
        assertTrue(Files.isRegularFile(tmp.resolve("rank0/metrics.jsonl")));
        assertTrue(Files.isRegularFile(tmp.resolve("rank0/checkpoint").resolve(Checkpoint.STATE)));
    }

    @Test
    void averagedValuesReachAGradientWhoseBufferWasACopy() {
        ai.djl.ndarray.NDArray g =
                manager.ones(new ai.djl.ndarray.types.Shape(2, 3)).mul(7f);
        ByteBuffer b = ByteBuffer.allocateDirect(6 * Float.BYTES).order(java.nio.ByteOrder.nativeOrder());
        for (int i = 0; i < 6; i++) {
            b.putFloat(i * Float.BYTES, i - 2.5f);
        }
        Replica.copyBack(b, g);
        assertArrayEquals(new float[] {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f}, g.toFloatArray());
        assertEquals(new ai.djl.ndarray.types.Shape(2, 3), g.getShape());
    }

    @Test
    void replicasTakeEqualSharesOfEveryBatch() {
        int[] batch = {10, 11, 12, 13, 14, 15, 16, 17};
        assertArrayEquals(new int[] {14, 15}, new Replica(new Fake(2, 4, b -> {}), 8).share(batch));
        assertArrayEquals(batch, new Replica(new Fake(0, 1, b -> {}), 8).share(batch));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> new Replica(new Fake(0, 3, b -> {}), 8));
        assertTrue(e.getMessage().contains("must be a multiple of 3"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Replica(new Fake(2, 2, b -> {}), 8));
    }
}
