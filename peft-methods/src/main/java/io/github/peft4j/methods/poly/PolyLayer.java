package io.github.peft4j.methods.poly;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import io.github.peft4j.core.AdapterContext;
import io.github.peft4j.core.ForwardParameters;
import io.github.peft4j.core.LayerAdapter;
import io.github.peft4j.core.ParameterValues;
import io.github.peft4j.core.PeftModel;
import io.github.peft4j.core.Scalars;
import io.github.peft4j.core.TargetLayer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Poly / MHR on one linear layer, as Python PEFT's {@code poly.Linear}: skills A [q, s, in/q, r] and B [q, s, r, out/q]
 * (q splits, s skills), router logits [tasks, q·s]. Row b of task t gets mixing weights w [q, s] (σ of its logits, a
 * relaxed-Bernoulli sample of temperature 1 while training, each split normalised to sum 1), mixes A_b = Σ_s w A and
 * B_b = Σ_s w B per split, and adds x A_b B_b / r. The relaxed-Bernoulli noise comes from the engine's generator, which
 * the training loop seeds per step, so a resumed run draws the same noise.
 */
public final class PolyLayer implements LayerAdapter {

    /** Python's ε in the normalisation of the mixing weights. */
    private static final double EPS = 1e-12;

    /** The clamp of the uniform draws (float32 machine ε), as PyTorch's {@code clamp_probs}. */
    private static final double PROB_EPS = Math.ulp(1.0f);

    private final TargetLayer layer;
    private final ForwardParameters forwardParameters;
    private final int rank;
    private final int tasks;
    private final int skills;
    private final int splits;
    private final int in;
    private final int out;
    private final Parameter a;
    private final Parameter b;
    private final Parameter logits;

    PolyLayer(TargetLayer layer, PolyConfig config, AdapterContext ctx) {
        this.layer = layer;
        this.forwardParameters = ctx.forwardParameters();
        this.rank = config.rank();
        this.tasks = config.nTasks();
        this.skills = config.nSkills();
        this.splits = config.nSplits();
        this.in = Math.toIntExact(layer.inFeatures());
        this.out = Math.toIntExact(layer.outFeatures());
        if (in % splits != 0 || out % splits != 0) {
            throw new IllegalArgumentException("PolyConfig.n_splits=" + splits + " must divide the input (" + in
                    + ") and output (" + out + ") features of '" + layer.path() + "'");
        }
        int din = in / splits;
        int dout = out / splits;
        SplittableRandom r = ctx.random(layer.path());
        NDManager m = ctx.manager();
        NDArray like = layer.weight().getArray();
        // each [split, skill] block as nn.Linear's default init of a [r, d] weight, stored transposed [d, r]
        float[] av = new float[splits * skills * din * rank];
        float[] bv = new float[splits * skills * rank * dout];
        for (int skill = 0; skill < skills; skill++) {
            for (int split = 0; split < splits; split++) {
                transposeInto(ParameterValues.kaimingUniform(r, rank, din), rank, din, av, (split * skills + skill));
                if (!config.initWeights()) {
                    transposeInto(
                            ParameterValues.kaimingUniform(r, dout, rank), dout, rank, bv, (split * skills + skill));
                }
            }
        }
        float[] lv = new float[tasks * splits * skills];
        for (int i = 0; i < lv.length; i++) {
            lv[i] = (float) (r.nextDouble() * 2e-3 - 1e-3);
        }
        a = ParameterValues.weight(m, "poly_lora_A", av, new Shape(splits, skills, din, rank), like);
        b = ParameterValues.weight(m, "poly_lora_B", bv, new Shape(splits, skills, rank, dout), like);
        logits = ParameterValues.weight(
                m, "poly_router.module_logits", lv, new Shape(tasks, (long) splits * skills), like);
    }

    /** Writes the transpose of a [rows, cols] block into block number {@code block} of {@code dst}. */
    private static void transposeInto(float[] src, int rows, int cols, float[] dst, int block) {
        int base = block * rows * cols;
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                dst[base + j * rows + i] = src[i * cols + j];
            }
        }
    }

    @Override
    public Map<String, Parameter> parameters() {
        Map<String, Parameter> m = new LinkedHashMap<>();
        m.put("poly_lora_A", a);
        m.put("poly_lora_B", b);
        m.put("poly_router.module_logits", logits);
        return m;
    }

    /** The task id of each row, int64 [batch] on the input's device, checked. */
    private NDArray taskIds(NDArray input, long batch) {
        Object v = forwardParameters.get(PeftModel.TASK_IDS);
        NDManager m = input.getManager();
        Device device = input.getDevice();
        long[] ids;
        if (v == null) {
            if (tasks != 1) {
                throw new IllegalArgumentException("the Poly adapter on '" + layer.path() + "' routes each row by its"
                        + " task (n_tasks=" + tasks + "): pass one task id per row as the forward parameter '"
                        + PeftModel.TASK_IDS + "' (an integer NDArray or int[])");
            }
            ids = new long[Math.toIntExact(batch)];
        } else if (v instanceof NDArray arr) {
            if (!arr.getDataType().isInteger()) {
                throw new IllegalArgumentException("forward parameter '" + PeftModel.TASK_IDS
                        + "' must be integer task ids; got " + arr.getDataType());
            }
            NDArray l = arr.toType(DataType.INT64, false); // the same array when int64 already: not closed then
            ids = l.toLongArray();
            if (l != arr) {
                l.close();
            }
        } else if (v instanceof int[] arr) {
            ids = new long[arr.length];
            for (int i = 0; i < arr.length; i++) {
                ids[i] = arr[i];
            }
        } else {
            throw new IllegalArgumentException("forward parameter '" + PeftModel.TASK_IDS
                    + "' must be an integer NDArray or int[] of one task id per row; got "
                    + v.getClass().getName());
        }
        if (ids.length != batch) {
            throw new IllegalArgumentException("forward parameter '" + PeftModel.TASK_IDS + "' has " + ids.length
                    + " task id(s) for the " + batch + " row(s) reaching '" + layer.path() + "': give one per row"
                    + " (Poly adapters do not run in mixed-adapter batches)");
        }
        for (long id : ids) {
            if (id < 0 || id >= tasks) {
                throw new IllegalArgumentException("task id " + id + " is out of range: the Poly adapter has n_tasks="
                        + tasks + " (ids 0.." + (tasks - 1) + ")");
            }
        }
        int[] small = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            small[i] = (int) ids[i];
        }
        // in engine memory (an array over a Java buffer may be collected while libtorch still reads it)
        return ParameterValues.create(m, small, device);
    }

    /** The mixing weights [batch, splits, skills] of the rows' tasks. */
    private NDArray mixingWeights(NDArray routerLogits, NDArray ids, long batch, boolean training) {
        NDArray rows = routerLogits.get(new NDIndex("{}", ids)).reshape(batch, splits, skills);
        NDArray probs;
        if (training) {
            NDManager m = ids.getManager();
            NDArray u = m.randomUniform(0f, 1f, rows.getShape(), rows.getDataType(), rows.getDevice())
                    .clip(PROB_EPS, 1 - PROB_EPS);
            NDArray noise = u.log().sub(Scalars.add(u.neg(), 1).log());
            probs = Activation.sigmoid(rows.add(noise));
        } else {
            probs = Activation.sigmoid(rows);
        }
        NDArray sum = Scalars.add(probs.sum(new int[] {-1}, true), EPS);
        return probs.div(sum);
    }

    @Override
    public NDArray forward(ParameterStore store, NDArray input, NDArray baseOutput, boolean training) {
        Device d = input.getDevice();
        long batch = input.getShape().get(0);
        NDArray ids = taskIds(input, batch);
        NDArray w = mixingWeights(store.getValue(logits, d, training), ids, batch, training);
        NDArray wt = w.transpose(1, 0, 2); // [q, batch, s]
        NDArray av = store.getValue(a, d, training);
        NDArray bv = store.getValue(b, d, training);
        int din = in / splits;
        int dout = out / splits;
        // A_b [batch, in, r]: per split, Σ_s w[b, q, s] A[q, s]
        NDArray mixA = wt.matMul(av.reshape(splits, skills, (long) din * rank))
                .reshape(splits, batch, din, rank)
                .transpose(1, 0, 2, 3)
                .reshape(batch, in, rank);
        // B_b [batch, r, out]: the splits side by side along the output features
        NDArray mixB = wt.matMul(bv.reshape(splits, skills, (long) rank * dout))
                .reshape(splits, batch, rank, dout)
                .transpose(1, 2, 0, 3)
                .reshape(batch, rank, out);
        NDArray x = input.reshape(batch, -1, in);
        NDArray y = Scalars.div(x.matMul(mixA).matMul(mixB), rank);
        return baseOutput.add(y.reshape(baseOutput.getShape()));
    }

    @Override
    public NDArray adaptWeight(ParameterStore store, NDArray weight, NDManager scope, boolean training) {
        throw new UnsupportedOperationException(
                "Poly mixes a weight per row; it runs on the activation path only ('" + layer.path() + "')");
    }

    @Override
    public NDArray deltaWeight(NDManager manager) {
        throw new UnsupportedOperationException(
                "a Poly adapter's update differs per task: there is no one ΔW to" + " merge ('" + layer.path() + "')");
    }

    @Override
    public void merge(NDArray weight) {
        deltaWeight(weight.getManager());
    }

    @Override
    public void unmerge(NDArray weight) {
        deltaWeight(weight.getManager());
    }

    @Override
    public boolean readsBaseWeight() {
        return false;
    }

    @Override
    public String describe() {
        return "Poly rank " + rank + ", " + skills + " skills × " + splits + " split(s), router over " + tasks
                + " task(s)";
    }

    @Override
    public void close() {
        a.close();
        b.close();
        logits.close();
    }
}
