package io.github.peft4j.models.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.peft4j.models.HfEmbedding;
import io.github.peft4j.models.HfLayerNorm;
import io.github.peft4j.models.HfModule;

/** The blocks of Hugging Face's {@code modeling_gpt2}, with its attribute names. Blocks pass (hidden, mask) along. */
final class Gpt2Layers {

    private Gpt2Layers() {}

    /** {@code attn}: fused q/k/v projection {@code c_attn}, attention, {@code c_proj}. */
    static final class Attention extends HfModule {
        private final DecoderConfig c;
        private final int layer;

        Attention(DecoderConfig c, int layer) {
            this.c = c;
            this.layer = layer;
            register("c_attn", new Conv1D(3L * c.hiddenSize()));
            register("c_proj", new Conv1D(c.hiddenSize()));
        }

        private NDArray heads(NDArray x) {
            Shape s = x.getShape();
            return x.reshape(s.get(0), s.get(1), c.numHeads(), c.headDim()).transpose(0, 2, 1, 3);
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            NDArray qkv = Ops.call(module("c_attn"), ps, training, params, in.get(0));
            long e = c.hiddenSize();
            NDArray q = heads(qkv.get("..., :" + e));
            NDArray k = heads(qkv.get("..., " + e + ":" + 2 * e));
            NDArray v = heads(qkv.get("..., " + 2 * e + ":"));
            KvCache cache = params == null ? null : (KvCache) params.get(KvCache.PARAM);
            if (cache != null) {
                NDList kv = cache.update(layer, k, v);
                k = kv.get(0);
                v = kv.get(1);
            }
            NDArray ctx = Ops.attention(q, k, v, in.get(1), c.attentionDropout(), training);
            NDArray out = Ops.call(module("c_proj"), ps, training, params, ctx);
            return new NDList(Ops.dropout(out, c.residualDropout(), training));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] in) {
            return new Shape[] {in[0]};
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
            module("c_attn").initialize(m, t, in[0]);
            module("c_proj").initialize(m, t, in[0]);
        }
    }

    /** {@code mlp}: {@code c_proj(act(c_fc(x)))}, dropout. */
    static final class Mlp extends HfModule {
        private final DecoderConfig c;

        Mlp(DecoderConfig c) {
            this.c = c;
            register("c_fc", new Conv1D(c.intermediateSize()));
            register("c_proj", new Conv1D(c.hiddenSize()));
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            NDArray h = Ops.activation(c.activation(), Ops.call(module("c_fc"), ps, training, params, in.get(0)));
            NDArray out = Ops.call(module("c_proj"), ps, training, params, h);
            return new NDList(Ops.dropout(out, c.residualDropout(), training));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] in) {
            return new Shape[] {in[0]};
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
            module("c_fc").initialize(m, t, in[0]);
            module("c_proj").initialize(m, t, LlamaLayers.last(in[0], c.intermediateSize()));
        }
    }

    /** {@code h.N}: pre-LN attention and MLP with residuals. In and out: hidden, mask. */
    static final class Block extends HfModule {
        Block(DecoderConfig c, int layer) {
            register("ln_1", new HfLayerNorm(c.hiddenSize(), (float) c.normEps()));
            register("attn", new Attention(c, layer));
            register("ln_2", new HfLayerNorm(c.hiddenSize(), (float) c.normEps()));
            register("mlp", new Mlp(c));
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            return scoped(in, l -> {
                NDArray x = l.get(0);
                NDArray a = module("attn")
                        .forward(
                                ps,
                                new NDList(Ops.call(module("ln_1"), ps, training, params, x), l.get(1)),
                                training,
                                params)
                        .singletonOrThrow();
                NDArray h = x.add(a);
                NDArray m = Ops.call(
                        module("mlp"), ps, training, params, Ops.call(module("ln_2"), ps, training, params, h));
                return new NDList(h.add(m), l.get(1));
            });
        }

        @Override
        public Shape[] getOutputShapes(Shape[] in) {
            return in;
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
            for (String n : new String[] {"ln_1", "ln_2", "mlp"}) {
                module(n).initialize(m, t, in[0]);
            }
            module("attn").initialize(m, t, in);
        }
    }

    /** {@code transformer}: token and position embeddings, blocks, final LayerNorm. Inputs: ids, positions, mask. */
    static final class Model extends HfModule {
        private final DecoderConfig c;

        Model(DecoderConfig c) {
            this.c = c;
            register("wte", new HfEmbedding(c.vocabSize(), c.hiddenSize()));
            register("wpe", new HfEmbedding(c.maxPositions(), c.hiddenSize()));
            LlamaLayers.LayerList h = new LlamaLayers.LayerList();
            for (int i = 0; i < c.numLayers(); i++) {
                h.add(new Block(c, i));
            }
            register("h", h);
            register("ln_f", new HfLayerNorm(c.hiddenSize(), (float) c.normEps()));
        }

        ai.djl.nn.Block wte() {
            return module("wte");
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            NDArray x = DecoderModel.embed(module("wte"), ps, training, params, in.get(0))
                    .add(Ops.call(module("wpe"), ps, training, params, in.get(1)));
            x = Ops.dropout(x, c.embeddingDropout(), training);
            NDList out = module("h").forward(ps, new NDList(x, in.get(2)), training, params);
            return new NDList(Ops.call(module("ln_f"), ps, training, params, out.get(0)));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] in) {
            return new Shape[] {in[0].add(c.hiddenSize())};
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
            module("wte").initialize(m, t, in[0]);
            module("wpe").initialize(m, t, in[0]);
            Shape h = in[0].add(c.hiddenSize());
            module("h").initialize(m, t, h, new Shape(in[0].get(0), 1, in[0].get(1), in[0].get(1)));
            module("ln_f").initialize(m, t, h);
        }
    }
}
