package io.github.peft4j.models.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.peft4j.core.nn.MixedLinear;
import io.github.peft4j.models.HfModule;

/**
 * The blocks of Hugging Face's {@code modeling_llama} (and Mistral's, Qwen2's and Qwen3's, which differ only in
 * biases, q/k norms and the attention window), one class per PyTorch module with its attribute names. Decoder layers
 * pass (hidden, mask, cos, sin) along.
 */
final class LlamaLayers {

    private LlamaLayers() {}

    static Linear linear(long units, boolean bias) {
        return MixedLinear.of(units, bias);
    }

    static Shape last(Shape s, long dim) {
        return s.slice(0, s.dimension() - 1).add(dim);
    }

    /** {@code self_attn}: q/k/v/o projections, RoPE, grouped-query attention, the KV cache. */
    static final class Attention extends HfModule {
        private final DecoderConfig c;
        private final int layer;

        Attention(DecoderConfig c, int layer) {
            this.c = c;
            this.layer = layer;
            register("q_proj", linear((long) c.numHeads() * c.headDim(), c.qkvBias()));
            register("k_proj", linear((long) c.numKvHeads() * c.headDim(), c.qkvBias()));
            register("v_proj", linear((long) c.numKvHeads() * c.headDim(), c.qkvBias()));
            register("o_proj", linear(c.hiddenSize(), c.outputBias()));
            if (c.qkNorm()) {
                register("q_norm", new RmsNorm(c.headDim(), c.normEps()));
                register("k_norm", new RmsNorm(c.headDim(), c.normEps()));
            }
        }

        private NDArray heads(NDArray x, int n, String norm, ParameterStore ps, boolean training) {
            Shape s = x.getShape();
            NDArray h = x.reshape(s.get(0), s.get(1), n, c.headDim());
            if (norm != null && c.qkNorm()) {
                h = Ops.call(module(norm), ps, training, null, h);
            }
            return h.transpose(0, 2, 1, 3);
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            NDArray x = in.get(0);
            NDArray q =
                    heads(Ops.call(module("q_proj"), ps, training, params, x), c.numHeads(), "q_norm", ps, training);
            NDArray k =
                    heads(Ops.call(module("k_proj"), ps, training, params, x), c.numKvHeads(), "k_norm", ps, training);
            NDArray v = heads(Ops.call(module("v_proj"), ps, training, params, x), c.numKvHeads(), null, ps, training);
            q = Rope.apply(q, in.get(2), in.get(3));
            k = Rope.apply(k, in.get(2), in.get(3));
            KvCache cache = params == null ? null : (KvCache) params.get(KvCache.PARAM);
            if (cache != null) {
                NDList kv = cache.update(layer, k, v);
                k = kv.get(0);
                v = kv.get(1);
            }
            NDArray ctx = Ops.attention(
                    q,
                    Ops.repeatKv(k, c.groups()),
                    Ops.repeatKv(v, c.groups()),
                    in.get(1),
                    c.attentionDropout(),
                    training);
            return new NDList(Ops.call(module("o_proj"), ps, training, params, ctx));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] in) {
            return new Shape[] {in[0]};
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
            for (String n : new String[] {"q_proj", "k_proj", "v_proj"}) {
                module(n).initialize(m, t, in[0]);
            }
            module("o_proj").initialize(m, t, last(in[0], (long) c.numHeads() * c.headDim()));
            if (c.qkNorm()) {
                module("q_norm").initialize(m, t, new Shape(1, c.headDim()));
                module("k_norm").initialize(m, t, new Shape(1, c.headDim()));
            }
        }
    }

    /** {@code mlp}: {@code down_proj(act(gate_proj(x)) ⊙ up_proj(x))}. */
    static final class Mlp extends HfModule {
        private final DecoderConfig c;

        Mlp(DecoderConfig c) {
            this.c = c;
            register("gate_proj", linear(c.intermediateSize(), c.mlpBias()));
            register("up_proj", linear(c.intermediateSize(), c.mlpBias()));
            register("down_proj", linear(c.hiddenSize(), c.mlpBias()));
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            NDArray x = in.singletonOrThrow();
            NDArray gate = Ops.activation(c.activation(), Ops.call(module("gate_proj"), ps, training, params, x));
            NDArray h = gate.mul(Ops.call(module("up_proj"), ps, training, params, x));
            return new NDList(Ops.call(module("down_proj"), ps, training, params, h));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] in) {
            return new Shape[] {in[0]};
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
            module("gate_proj").initialize(m, t, in[0]);
            module("up_proj").initialize(m, t, in[0]);
            module("down_proj").initialize(m, t, last(in[0], c.intermediateSize()));
        }
    }

    /** {@code layers.N}: pre-norm attention and MLP with residuals. In and out: hidden, mask, cos, sin. */
    static final class DecoderLayer extends HfModule {
        DecoderLayer(DecoderConfig c, int layer) {
            register("self_attn", new Attention(c, layer));
            register("mlp", new Mlp(c));
            register("input_layernorm", new RmsNorm(c.hiddenSize(), c.normEps()));
            register("post_attention_layernorm", new RmsNorm(c.hiddenSize(), c.normEps()));
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            return scoped(in, l -> {
                NDArray x = l.get(0);
                NDArray normed = Ops.call(module("input_layernorm"), ps, training, params, x);
                NDList attnIn = new NDList(normed, l.get(1), l.get(2), l.get(3));
                NDArray h = x.add(module("self_attn")
                        .forward(ps, attnIn, training, params)
                        .singletonOrThrow());
                NDArray m = Ops.call(
                        module("mlp"),
                        ps,
                        training,
                        params,
                        Ops.call(module("post_attention_layernorm"), ps, training, params, h));
                return new NDList(h.add(m), l.get(1), l.get(2), l.get(3));
            });
        }

        @Override
        public Shape[] getOutputShapes(Shape[] in) {
            return in;
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
            module("self_attn").initialize(m, t, in);
            module("mlp").initialize(m, t, in[0]);
            module("input_layernorm").initialize(m, t, in[0]);
            module("post_attention_layernorm").initialize(m, t, in[0]);
        }
    }

    /**
     * {@code nn.ModuleList} of layers: a {@link SequentialBlock} (so its children are numbered from 0) that hands the
     * forward parameters (the KV cache) to every layer.
     */
    static final class LayerList extends SequentialBlock {
        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
            NDList current = inputs;
            for (Block b : getChildren().values()) {
                current = b.forward(ps, current, training, params);
            }
            return current;
        }
    }

    /** {@code model}: embeddings, layers, final norm. Inputs: ids, mask, cos, sin. Output: hidden states. */
    static final class Model extends HfModule {
        private final DecoderConfig c;

        Model(DecoderConfig c) {
            this.c = c;
            register("embed_tokens", new io.github.peft4j.models.HfEmbedding(c.vocabSize(), c.hiddenSize()));
            LayerList layers = new LayerList();
            for (int i = 0; i < c.numLayers(); i++) {
                layers.add(new DecoderLayer(c, i));
            }
            register("layers", layers);
            register("norm", new RmsNorm(c.hiddenSize(), c.normEps()));
        }

        Block embedTokens() {
            return module("embed_tokens");
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            NDArray h = DecoderModel.embed(module("embed_tokens"), ps, training, params, in.get(0));
            NDList out = module("layers").forward(ps, new NDList(h, in.get(1), in.get(2), in.get(3)), training, params);
            return new NDList(Ops.call(module("norm"), ps, training, params, out.get(0)));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] in) {
            return new Shape[] {in[0].add(c.hiddenSize())};
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... in) {
            module("embed_tokens").initialize(m, t, in[0]);
            Shape h = in[0].add(c.hiddenSize());
            Shape mask = new Shape(in[0].get(0), 1, in[0].get(1), in[0].get(1));
            Shape rope = new Shape(in[0].get(0), 1, in[0].get(1), c.headDim());
            module("layers").initialize(m, t, h, mask, rope, rope);
            module("norm").initialize(m, t, h);
        }
    }
}
