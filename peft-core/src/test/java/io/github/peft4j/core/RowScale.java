package io.github.peft4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.ConfigJson;
import java.util.List;
import java.util.Map;

/**
 * A method that exists only in peft-core's tests, so that the core's parts are tested without any method module:
 * each target row gets a trainable scale d, {@code y = W x + b + d ⊙ (W x)}, {@code ΔW = diag(d) W}. Its layers keep a
 * training state (a step counter the method's afterStep hook advances), so the state path is exercised too.
 */
public final class RowScale {

    static final String PEFT_TYPE = "ROW_SCALE";

    private RowScale() {}

    /**
     * The config.
     *
     * @param targets the targets
     * @param init d's initial value
     */
    record Config(Targets targets, double init) implements AdapterConfig {
        static Config of(String... targets) {
            return new Config(Targets.of(ModuleSelector.names(targets)), 0);
        }

        Config withInit(double v) {
            return new Config(targets, v);
        }

        Config withSaved(String... modules) {
            return new Config(
                    new Targets(
                            targets.targetModules(),
                            targets.excludeModules(),
                            List.of(modules),
                            targets.taskType(),
                            targets.baseModelNameOrPath()),
                    init);
        }

        @Override
        public String peftType() {
            return PEFT_TYPE;
        }

        @Override
        public ObjectNode toJson() {
            ObjectNode o = targets.toJson(PEFT_TYPE);
            o.put("row_scale_init", init);
            return o;
        }
    }

    /** One layer: d [out] and a step counter. */
    static final class Layer implements LayerAdapter {
        final TargetLayer target;
        final Parameter scale;
        long steps;

        Layer(TargetLayer target, Config c, AdapterContext ctx) {
            this.target = target;
            float[] v = new float[Math.toIntExact(target.outFeatures())];
            java.util.Arrays.fill(v, (float) c.init());
            scale = Parameter.builder()
                    .setName("row_scale")
                    .setType(Parameter.Type.WEIGHT)
                    .optArray(ParameterValues.create(
                            ctx.manager(),
                            v,
                            new Shape(v.length),
                            target.weight().getArray()))
                    .build();
        }

        @Override
        public Map<String, Parameter> parameters() {
            return Map.of("row_scale", scale);
        }

        @Override
        public NDArray forward(ParameterStore store, NDArray input, NDArray baseOutput, boolean training) {
            NDArray w = store.getValue(target.weight(), input.getDevice(), training);
            NDArray d = store.getValue(scale, input.getDevice(), training);
            return baseOutput.add(Linear.linear(input, w).singletonOrThrow().mul(d));
        }

        @Override
        public NDArray adaptWeight(ParameterStore store, NDArray weight, NDManager scope, boolean training) {
            NDArray d = store.getValue(scale, weight.getDevice(), training);
            NDArray out = weight.mul(d.expandDims(1)).add(weight);
            out.attach(scope);
            return out;
        }

        @Override
        public NDArray deltaWeight(NDManager manager) {
            try (NDArray w = target.weight().getArray().stopGradient();
                    NDArray d = scale.getArray().stopGradient();
                    NDArray col = d.expandDims(1)) {
                NDArray out = w.mul(col);
                out.attach(manager);
                return out;
            }
        }

        /** ΔW depends on W: unmerging divides by (1 + d) instead of subtracting ΔW of the merged weight. */
        @Override
        public void unmerge(NDArray weight) {
            try (NDManager t = weight.getManager().newSubManager();
                    NDArray w = weight.stopGradient();
                    NDArray d = scale.getArray().stopGradient()) {
                NDArray one = Scalars.add(d, 1).expandDims(1);
                one.attach(t);
                NDArray restored = w.div(one);
                restored.attach(t);
                ParameterValues.copyInto(weight, restored);
            }
        }

        @Override
        public Map<String, NDArray> trainingState(NDManager manager) {
            return Map.of("steps", manager.create(new long[] {steps}));
        }

        @Override
        public void restoreTrainingState(Map<String, NDArray> state) {
            steps = state.get("steps").toLongArray()[0];
        }

        @Override
        public String describe() {
            return "row scale of " + target.outFeatures() + " rows";
        }

        @Override
        public void close() {
            scale.close();
        }
    }

    /** The method, registered through peft-core's test META-INF/services (not exported in the test jar). */
    public static final class Method implements AdapterMethod<Config, Layer> {
        /** Used by ServiceLoader. */
        public Method() {}

        @Override
        public String peftType() {
            return PEFT_TYPE;
        }

        @Override
        public Class<Config> configType() {
            return Config.class;
        }

        @Override
        public Config parseConfig(ObjectNode json) {
            Targets targets = Targets.fromJson(
                    json,
                    PEFT_TYPE,
                    "RowScale",
                    List.of("row_scale_init"),
                    org.slf4j.LoggerFactory.getLogger(RowScale.class));
            return new Config(targets, ConfigJson.number(json, "row_scale_init", "RowScale", 0.0));
        }

        @Override
        public Layer createAdapter(TargetLayer layer, Config config, AdapterContext context) {
            return new Layer(layer, config, context);
        }

        @Override
        public void afterStep(Config config, Map<String, Layer> layers, long step, OptimizerAccess optimizer) {
            layers.values().forEach(l -> l.steps++);
        }
    }
}
