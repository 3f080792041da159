package io.github.peft4j.core.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import java.util.SplittableRandom;

/** Tiny in-file models with deterministic weights for the contract suite. */
public final class TestModels {

    private TestModels() {}

    /**
     * An MLP as a {@link SequentialBlock}: modules {@code 0} (8→16), {@code 2} (16→16), {@code 4} (16→4); input
     * [n, 8]. Its linear layers take activation-path adapters.
     *
     * @param manager owns the weights
     * @param seed weight seed
     * @param dataType the weights' type
     * @return the initialized block
     */
    public static Block mlp(NDManager manager, long seed, DataType dataType) {
        SequentialBlock b = new SequentialBlock()
                .add(Linear.builder().setUnits(16).build())
                .add(Activation::tanh)
                .add(Linear.builder().setUnits(16).build())
                .add(Activation::tanh)
                .add(Linear.builder().setUnits(4).build());
        b.initialize(manager, dataType, new Shape(1, 8));
        fill(b, seed);
        return b;
    }

    /**
     * A model whose layers live in private fields (so adapters use the weight path), with HF-style paths
     * {@code encoder.0.query}, {@code encoder.0.key}, {@code encoder.0.value}, {@code encoder.0.dense},
     * {@code encoder.1.*} and {@code classifier} (16→3); input [n, 16].
     *
     * @param manager owns the weights
     * @param seed weight seed
     * @param dataType the weights' type
     * @return the initialized block
     */
    public static Block tinyEncoder(NDManager manager, long seed, DataType dataType) {
        TinyEncoder m = new TinyEncoder();
        m.initialize(manager, dataType, new Shape(1, 16));
        fill(m, seed);
        return m;
    }

    /**
     * Overwrites every parameter with values from a seeded stream, so models are equal across runs and engines.
     *
     * @param block the block
     * @param seed the seed
     */
    public static void fill(Block block, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        for (Pair<String, Parameter> p : block.getParameters()) {
            NDArray a = p.getValue().getArray();
            float[] v = new float[Math.toIntExact(a.size())];
            double bound = 1 / Math.sqrt(a.getShape().get(a.getShape().dimension() - 1));
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
            }
            try (NDArray src = a.getManager().create(v, a.getShape())) {
                io.github.peft4j.core.ParameterValues.copyInto(a, src);
            }
        }
    }

    /** Attention-like block: tanh(q) ⊙ sigmoid(k) + v, then dense. */
    static final class TinyBlock extends AbstractBlock {
        private final Linear query;
        private final Linear key;
        private final Linear value;
        private final Linear dense;

        TinyBlock() {
            query = addChildBlock("query", Linear.builder().setUnits(16).build());
            key = addChildBlock("key", Linear.builder().setUnits(16).build());
            value = addChildBlock("value", Linear.builder().setUnits(16).build());
            dense = addChildBlock("dense", Linear.builder().setUnits(16).build());
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
            NDArray q = query.forward(ps, inputs, training).singletonOrThrow();
            NDArray k = key.forward(ps, inputs, training).singletonOrThrow();
            NDArray v = value.forward(ps, inputs, training).singletonOrThrow();
            NDArray h = q.tanh().mul(Activation.sigmoid(k)).add(v);
            return dense.forward(ps, new NDList(h), training);
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return new Shape[] {
                inputShapes[0].slice(0, inputShapes[0].dimension() - 1).add(16)
            };
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
            Shape s = inputShapes[0];
            for (Block b : new Block[] {query, key, value}) {
                b.initialize(manager, dataType, s);
            }
            dense.initialize(manager, dataType, s.slice(0, s.dimension() - 1).add(16));
        }
    }

    /** encoder (2 × TinyBlock in a SequentialBlock) then classifier. */
    static final class TinyEncoder extends AbstractBlock {
        private final SequentialBlock encoder;
        private final Linear classifier;

        TinyEncoder() {
            encoder = addChildBlock(
                    "encoder", new SequentialBlock().add(new TinyBlock()).add(new TinyBlock()));
            classifier =
                    addChildBlock("classifier", Linear.builder().setUnits(3).build());
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
            return classifier.forward(ps, encoder.forward(ps, inputs, training), training);
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return new Shape[] {
                inputShapes[0].slice(0, inputShapes[0].dimension() - 1).add(3)
            };
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
            encoder.initialize(manager, dataType, inputShapes);
            classifier.initialize(
                    manager,
                    dataType,
                    inputShapes[0].slice(0, inputShapes[0].dimension() - 1).add(16));
        }
    }
}
