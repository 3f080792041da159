package io.github.peft4j.models.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.peft4j.core.nn.Dropouts;
import io.github.peft4j.core.nn.MixedLinear;
import io.github.peft4j.models.HfEmbedding;
import io.github.peft4j.models.HfLayerNorm;
import io.github.peft4j.models.HfModule;

/**
 * The blocks of Hugging Face's {@code modeling_bert}, one class per PyTorch module, with the same attribute names.
 * Activations are [batch, seq, hidden]; the attention mask travels as an additive [batch, 1, 1, seq] tensor.
 */
final class BertLayers {

    private BertLayers() {}

    static NDArray dropout(NDArray x, double rate, boolean training) {
        return Dropouts.apply(x, rate, training);
    }

    static NDArray call(Block b, ParameterStore ps, boolean training, NDArray... inputs) {
        return b.forward(ps, new NDList(inputs), training).singletonOrThrow();
    }

    static Linear linear(int units) {
        return MixedLinear.of(units, true);
    }

    static Shape last(Shape s, long dim) {
        return s.slice(0, s.dimension() - 1).add(dim);
    }

    /** {@code embeddings}: word + position + token type, LayerNorm, dropout. Inputs: ids, token type ids. */
    static final class Embeddings extends HfModule {
        private final BertConfig c;

        Embeddings(BertConfig c) {
            this.c = c;
            register("word_embeddings", new HfEmbedding(c.vocabSize(), c.hiddenSize()));
            register("position_embeddings", new HfEmbedding(c.maxPositionEmbeddings(), c.hiddenSize()));
            register("token_type_embeddings", new HfEmbedding(c.typeVocabSize(), c.hiddenSize()));
            register("LayerNorm", new HfLayerNorm(c.hiddenSize(), (float) c.layerNormEps()));
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            NDArray ids = in.get(0);
            NDArray types = in.get(1);
            long seq = ids.getShape().get(1);
            if (seq > c.maxPositionEmbeddings()) {
                throw new IllegalArgumentException("sequence length " + seq + " exceeds max_position_embeddings "
                        + c.maxPositionEmbeddings() + "; truncate the input");
            }
            NDArray pos = ids.getManager()
                    .arange(0, Math.toIntExact(seq), 1, DataType.INT64)
                    .expandDims(0);
            NDArray x = call(module("word_embeddings"), ps, training, ids)
                    .add(call(module("position_embeddings"), ps, training, pos))
                    .add(call(module("token_type_embeddings"), ps, training, types));
            x = call(module("LayerNorm"), ps, training, x);
            return new NDList(dropout(x, c.hiddenDropoutProb(), training));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] in) {
            return new Shape[] {in[0].add(c.hiddenSize())};
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
            module("word_embeddings").initialize(m, t, in[0]);
            module("position_embeddings").initialize(m, t, in[0]);
            module("token_type_embeddings").initialize(m, t, in[0]);
            module("LayerNorm").initialize(m, t, in[0].add(c.hiddenSize()));
        }
    }

    /** {@code attention.self}: query, key, value and scaled dot-product attention. Inputs: hidden, additive mask. */
    static final class SelfAttention extends HfModule {
        private final BertConfig c;

        SelfAttention(BertConfig c) {
            this.c = c;
            register("query", linear(c.hiddenSize()));
            register("key", linear(c.hiddenSize()));
            register("value", linear(c.hiddenSize()));
        }

        private NDArray heads(NDArray x) {
            Shape s = x.getShape();
            return x.reshape(s.get(0), s.get(1), c.numAttentionHeads(), c.headSize())
                    .transpose(0, 2, 1, 3);
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            NDArray h = in.get(0);
            NDArray mask = in.get(1);
            NDArray q = heads(call(module("query"), ps, training, h));
            NDArray k = heads(call(module("key"), ps, training, h));
            NDArray v = heads(call(module("value"), ps, training, h));
            NDArray ctx = io.github.peft4j.core.nn.Attention.scaledDotProduct(
                            q, k, v, mask, c.attentionProbsDropoutProb(), training)
                    .transpose(0, 2, 1, 3);
            Shape s = h.getShape();
            return new NDList(ctx.reshape(s.get(0), s.get(1), c.hiddenSize()));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] in) {
            return new Shape[] {in[0]};
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
            for (String n : new String[] {"query", "key", "value"}) {
                module(n).initialize(m, t, in[0]);
            }
        }
    }

    /** {@code attention.output} and {@code output}: dense, dropout, residual, LayerNorm. Inputs: x, residual. */
    static final class DenseResidualNorm extends HfModule {
        private final BertConfig c;
        private final int inWidth;

        DenseResidualNorm(BertConfig c, int inWidth) {
            this.c = c;
            this.inWidth = inWidth;
            register("dense", linear(c.hiddenSize()));
            register("LayerNorm", new HfLayerNorm(c.hiddenSize(), (float) c.layerNormEps()));
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            NDArray x = dropout(call(module("dense"), ps, training, in.get(0)), c.hiddenDropoutProb(), training);
            return new NDList(call(module("LayerNorm"), ps, training, x.add(in.get(1))));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] in) {
            return new Shape[] {last(in[0], c.hiddenSize())};
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
            module("dense").initialize(m, t, last(in[0], inWidth));
            module("LayerNorm").initialize(m, t, last(in[0], c.hiddenSize()));
        }
    }

    /** {@code attention}: self-attention then its output block. Inputs: hidden, mask. */
    static final class Attention extends HfModule {
        Attention(BertConfig c) {
            register("self", new SelfAttention(c));
            register("output", new DenseResidualNorm(c, c.hiddenSize()));
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            NDArray ctx = module("self").forward(ps, in, training).singletonOrThrow();
            return module("output").forward(ps, new NDList(ctx, in.get(0)), training);
        }

        @Override
        public Shape[] getOutputShapes(Shape[] in) {
            return new Shape[] {in[0]};
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
            module("self").initialize(m, t, in);
            module("output").initialize(m, t, in[0], in[0]);
        }
    }

    /** {@code intermediate}: dense to intermediate_size, exact GELU. */
    static final class Intermediate extends HfModule {
        private final BertConfig c;

        Intermediate(BertConfig c) {
            this.c = c;
            register("dense", linear(c.intermediateSize()));
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            return new NDList(Activation.gelu(call(module("dense"), ps, training, in.singletonOrThrow())));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] in) {
            return new Shape[] {last(in[0], c.intermediateSize())};
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
            module("dense").initialize(m, t, in[0]);
        }
    }

    /** {@code encoder.layer.N}. Inputs and outputs: hidden, mask (so layers chain in a SequentialBlock). */
    static final class Layer extends HfModule {
        private final BertConfig c;

        Layer(BertConfig c) {
            this.c = c;
            register("attention", new Attention(c));
            register("intermediate", new Intermediate(c));
            register("output", new DenseResidualNorm(c, c.intermediateSize()));
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            return scoped(in, x -> {
                NDArray a = module("attention").forward(ps, x, training).singletonOrThrow();
                NDArray i = call(module("intermediate"), ps, training, a);
                NDArray o =
                        module("output").forward(ps, new NDList(i, a), training).singletonOrThrow();
                return new NDList(o, x.get(1));
            });
        }

        @Override
        public Shape[] getOutputShapes(Shape[] in) {
            return in;
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
            module("attention").initialize(m, t, in);
            module("intermediate").initialize(m, t, in[0]);
            module("output").initialize(m, t, last(in[0], c.intermediateSize()), in[0]);
        }
    }

    /** {@code encoder}: {@code layer} is a list of {@link Layer}s. */
    static final class Encoder extends HfModule {
        Encoder(BertConfig c) {
            SequentialBlock layers = new SequentialBlock();
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                layers.add(new Layer(c));
            }
            register("layer", layers);
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            return module("layer").forward(ps, in, training);
        }

        @Override
        public Shape[] getOutputShapes(Shape[] in) {
            return in;
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
            module("layer").initialize(m, t, in);
        }
    }

    /** {@code pooler}: dense + tanh on the first token. */
    static final class Pooler extends HfModule {
        private final BertConfig c;

        Pooler(BertConfig c) {
            this.c = c;
            register("dense", linear(c.hiddenSize()));
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            NDArray first = in.singletonOrThrow().get(":, 0, :");
            return new NDList(call(module("dense"), ps, training, first).tanh());
        }

        @Override
        public Shape[] getOutputShapes(Shape[] in) {
            return new Shape[] {new Shape(in[0].get(0), c.hiddenSize())};
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
            module("dense").initialize(m, t, new Shape(in[0].get(0), c.hiddenSize()));
        }
    }
}
