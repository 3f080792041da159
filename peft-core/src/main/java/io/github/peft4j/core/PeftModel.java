package io.github.peft4j.core;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.BlockList;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterServer;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.AdapterFiles;
import io.github.peft4j.core.io.AtomicDirectory;
import io.github.peft4j.core.nn.AdaptedBlock;
import io.github.peft4j.core.nn.ModuleContainer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * A DJL block with adapters: the peft4j counterpart of Python's {@code PeftModel}.
 *
 * <p>Wrap a base model (its weights loaded), and peft4j injects an adapter at every target layer, freezes every base
 * parameter, and trains only the adapters (plus the {@code modules_to_save}). The wrapper is itself a {@link Block}:
 * put it in a {@link ai.djl.Model} and train it with DJL's {@code Trainer} as any other block.
 *
 * <pre>{@code
 * PeftModel peft = PeftModel.builder()
 *         .setBaseModel(block)
 *         .setConfig(LoraConfig.builder().setTargetModules("query", "value").optRank(8).optAlpha(16).build())
 *         .build();
 * peft.printTrainableParameters();
 * model.setBlock(peft);                      // train with model.newTrainer(...)
 * peft.saveAdapters(Path.of("my-adapter"));  // loads in Python: PeftModel.from_pretrained(base, "my-adapter")
 * Block merged = peft.mergeAndUnload();       // plain model with W + ΔW
 * }</pre>
 *
 * <p>Several named adapters can live side by side; one is active at a time ({@link #setActiveAdapter}). Adapters can
 * be disabled ({@link #disableAdapters()}) to get the base model's outputs, merged into the base weights and unmerged.
 *
 * <p>See {@link InjectionMode} for the two ways an adapter reaches a layer and what each costs.
 *
 * <p>Not thread-safe for mutation (adding, merging, switching adapters); forward passes may run concurrently as with
 * any DJL block.
 */
public final class PeftModel extends AbstractBlock {

    /** The name of the adapter created by {@link Builder#setConfig}, as in Python PEFT. */
    public static final String DEFAULT_ADAPTER = "default";

    private static final Logger LOG = LoggerFactory.getLogger(PeftModel.class);

    private final Block base;
    private final long seed;
    private final InjectionMode injectionMode;
    private final NDManager manager;
    private final Map<Parameter, Boolean> originalRequiresGrad = new LinkedHashMap<>();

    private final Map<String, Adapter> adapters = new LinkedHashMap<>();
    private final Map<String, Layer> layers = new LinkedHashMap<>();
    private final Map<String, Layer> weightPathByParamId = new HashMap<>();
    private String activeAdapter;
    private boolean enabled = true;
    private boolean unloaded;

    /** One named adapter: its config and its per-layer parts. */
    private static final class Adapter {
        final String name;
        final AdapterConfig config;
        final Map<String, LayerAdapter> byPath = new LinkedHashMap<>();
        /** modules_to_save: full parameter path to (original, trainable copy). */
        final Map<String, Pair<Parameter, Parameter>> saved = new LinkedHashMap<>();
        final Map<String, Parameter> copyByOriginalId = new HashMap<>();
        final Set<String> savedModules = new TreeSet<>();

        Adapter(String name, AdapterConfig config) {
            this.name = name;
            this.config = config;
        }
    }

    /** A layer that hosts at least one adapter. */
    private static final class Layer {
        final TargetLayer target;
        final ModuleTree.Node node;
        final InjectionMode mode;
        AdaptedBlock wrapper;
        String merged;

        Layer(TargetLayer target, ModuleTree.Node node, InjectionMode mode) {
            this.target = target;
            this.node = node;
            this.mode = mode;
        }
    }

    private PeftModel(Builder b) {
        this.base = addChildBlock("base_model", b.base);
        this.seed = b.seed;
        this.injectionMode = b.injectionMode;
        if (!b.base.isInitialized()) {
            throw new IllegalStateException("the base model must be initialized (weights loaded) before it is"
                    + " wrapped: call block.initialize(manager, DataType.FLOAT32, inputShape) or load its weights"
                    + " first");
        }
        NDManager owner = b.manager;
        if (owner == null) {
            Parameter any = b.base.getParameters().values().get(0);
            owner = any.getArray().getManager();
        }
        this.manager = owner.newSubManager();
        this.manager.setName("peft4j-adapters");
        for (Parameter p : b.base.getParameters().values()) {
            originalRequiresGrad.put(p, p.requiresGradient());
            p.freeze(true);
        }
    }

    /**
     * Returns a builder.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    // ------------------------------------------------------------------ adapters

    /**
     * Adds an adapter and injects it at every module its config targets. The first adapter becomes the active one.
     *
     * @param name the adapter name (a folder name when saved, so letters, digits, '-', '_' and '.')
     * @param config the config
     * @throws IllegalArgumentException if the name is taken or invalid, the targets match nothing (the message lists
     *     the closest module paths), or the config does not fit a layer
     */
    public void addAdapter(String name, AdapterConfig config) {
        requireUsable();
        Objects.requireNonNull(config, "config");
        if (name == null || !name.matches("[A-Za-z0-9_.-]+") || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("adapter name must consist of letters, digits, '-', '_' and '.';"
                    + " got '" + name + "'");
        }
        if (name.equals(AdapterFiles.CONFIG) || name.equals(AdapterFiles.WEIGHTS) || name.equals(AdapterFiles.CARD)) {
            throw new IllegalArgumentException("adapter name '" + name + "' is reserved: it is the name of a file in"
                    + " an adapter directory, and adapters other than 'default' are saved in a folder of their name");
        }
        if (adapters.containsKey(name)) {
            throw new IllegalArgumentException("an adapter named '" + name + "' exists already; adapters: "
                    + adapters.keySet());
        }
        if (layers.values().stream().anyMatch(l -> l.merged != null)) {
            throw new IllegalStateException("cannot add adapter '" + name + "' while adapter '" + activeAdapter
                    + "' is merged; call unmerge() first");
        }
        AdapterMethod method = AdapterMethods.forConfig(config);
        List<ModuleTree.Node> nodes = ModuleTree.walk(base);
        ModuleSelector saveSelector = ModuleSelector.names(config.modulesToSave());
        List<ModuleTree.Node> targets = selectTargets(nodes, config, saveSelector, method);

        Adapter adapter = new Adapter(name, config);
        AdapterContext ctx = new AdapterContext(name, seed, manager);
        try {
            for (ModuleTree.Node n : targets) {
                Layer existing = layers.get(n.path());
                boolean replaceable = n.parent() instanceof SequentialBlock || n.parent() instanceof ModuleContainer;
                if (existing == null && injectionMode == InjectionMode.ACTIVATION && !replaceable) {
                    throw new IllegalArgumentException("layer '" + n.path() + "' cannot take an activation-path"
                            + " adapter: its parent " + (n.parent() == null ? "(none: it is the root)"
                            : n.parent().getClass().getSimpleName()) + " is neither a SequentialBlock nor a"
                            + " ModuleContainer; use InjectionMode.AUTO or WEIGHT");
                }
                if (!method.supportsWeightPath() && (existing != null ? existing.mode : modeFor(n))
                        == InjectionMode.WEIGHT) {
                    throw new IllegalArgumentException(config.peftType() + " needs the activation path but layer '"
                            + n.path() + "' is reached on the weight path (its parent " + (n.parent() == null
                            ? "is none" : n.parent().getClass().getSimpleName()) + " cannot swap children): use a"
                            + " model whose blocks are a SequentialBlock or a ModuleContainer");
                }
                TargetLayer t = existing != null ? existing.target : targetLayer(n);
                adapter.byPath.put(n.path(), method.createAdapter(t, config, ctx));
            }
            for (ModuleTree.Node n : nodes) {
                if (!n.path().isEmpty() && !config.modulesToSave().isEmpty() && saveSelector.matches(n.path())
                        && !insideSaved(adapter, n.path())) {
                    adapter.savedModules.add(n.path());
                    for (Map.Entry<String, Parameter> e : ModuleTree.namedParameters(n.block()).entrySet()) {
                        Parameter orig = e.getValue();
                        NDArray copy = orig.getArray().duplicate();
                        copy.attach(manager);
                        Parameter p = Parameter.builder().setName(orig.getName()).setType(orig.getType())
                                .optArray(copy).build();
                        adapter.saved.put(n.path() + "." + e.getKey(), new Pair<>(orig, p));
                        adapter.copyByOriginalId.put(orig.getId(), p);
                    }
                }
            }
        } catch (RuntimeException e) {
            adapter.byPath.values().forEach(LayerAdapter::close);
            adapter.saved.values().forEach(p -> p.getValue().close());
            throw e;
        }

        // nothing can fail from here on: mutate the model
        for (ModuleTree.Node n : targets) {
            layers.computeIfAbsent(n.path(), p -> inject(n));
        }
        adapters.put(name, adapter);
        for (Map.Entry<String, LayerAdapter> e : adapter.byPath.entrySet()) {
            for (Map.Entry<String, Parameter> p : e.getValue().parameters().entrySet()) {
                parameters.put(paramKey(name, e.getKey() + "." + p.getKey()), p.getValue());
            }
        }
        for (Map.Entry<String, Pair<Parameter, Parameter>> e : adapter.saved.entrySet()) {
            parameters.put(paramKey(name, e.getKey()), e.getValue().getValue());
        }
        if (activeAdapter == null) {
            activeAdapter = name;
        }
        applyTrainability();
        LOG.info("added adapter '{}' ({}) on {} layer(s){}", name, config.peftType(), targets.size(),
                adapter.saved.isEmpty() ? "" : ", modules to save: " + savedModules(adapter));
    }

    /**
     * Makes an adapter the active one: it alone is applied and trainable.
     *
     * @param name the adapter name
     * @throws IllegalArgumentException if there is no such adapter
     * @throws IllegalStateException if an adapter is merged
     */
    public void setActiveAdapter(String name) {
        requireUsable();
        requireAdapter(name);
        if (!name.equals(activeAdapter) && isMerged()) {
            throw new IllegalStateException("cannot switch to adapter '" + name + "' while '" + activeAdapter
                    + "' is merged; call unmerge() first");
        }
        activeAdapter = name;
        applyTrainability();
    }

    /**
     * Returns the active adapter's name.
     *
     * @return the name, or {@code null} when no adapter exists
     */
    public String getActiveAdapter() {
        return activeAdapter;
    }

    /**
     * Returns the adapter names in the order they were added.
     *
     * @return the names
     */
    public List<String> getAdapterNames() {
        return List.copyOf(adapters.keySet());
    }

    /**
     * Returns an adapter's config.
     *
     * @param name the adapter name
     * @return the config
     */
    public AdapterConfig getConfig(String name) {
        return requireAdapter(name).config;
    }

    /**
     * Returns the paths of the layers an adapter is injected at.
     *
     * @param name the adapter name
     * @return the module paths, in model order
     */
    public List<String> getTargetPaths(String name) {
        return List.copyOf(requireAdapter(name).byPath.keySet());
    }

    /**
     * Returns the injection path used for a layer.
     *
     * @param path a module path that hosts an adapter
     * @return {@link InjectionMode#ACTIVATION} or {@link InjectionMode#WEIGHT}
     */
    public InjectionMode getInjectionMode(String path) {
        Layer l = layers.get(path);
        if (l == null) {
            throw new IllegalArgumentException("no adapter is injected at '" + path + "'; adapted layers: "
                    + layers.keySet());
        }
        return l.mode;
    }

    /**
     * Returns one adapter's part at one layer, e.g. to read its parameters.
     *
     * @param name the adapter name
     * @param path the module path
     * @return the layer adapter
     */
    public LayerAdapter getLayerAdapter(String name, String path) {
        LayerAdapter a = requireAdapter(name).byPath.get(path);
        if (a == null) {
            throw new IllegalArgumentException("adapter '" + name + "' is not injected at '" + path + "'; it is at "
                    + adapters.get(name).byPath.keySet());
        }
        return a;
    }

    /**
     * Removes an adapter, its parameters and, where no other adapter remains, its wrappers.
     *
     * @param name the adapter name
     * @throws IllegalStateException if that adapter is merged
     */
    public void deleteAdapter(String name) {
        requireUsable();
        Adapter a = requireAdapter(name);
        if (name.equals(activeAdapter) && isMerged()) {
            throw new IllegalStateException("cannot delete adapter '" + name + "' while it is merged; call unmerge()"
                    + " first");
        }
        adapters.remove(name);
        parameters.keySet().removeIf(k -> k.startsWith(name + "/"));
        for (String path : a.byPath.keySet()) {
            boolean used = adapters.values().stream().anyMatch(o -> o.byPath.containsKey(path));
            if (!used) {
                eject(layers.remove(path));
            }
        }
        a.byPath.values().forEach(LayerAdapter::close);
        a.saved.values().forEach(p -> p.getValue().close());
        if (name.equals(activeAdapter)) {
            activeAdapter = adapters.isEmpty() ? null : adapters.keySet().iterator().next();
        }
        applyTrainability();
    }

    /** Turns adapters off: the model computes the base model's outputs until {@link #enableAdapters()}. */
    public void disableAdapters() {
        requireUsable();
        if (isMerged()) {
            throw new IllegalStateException("cannot disable adapters while '" + activeAdapter + "' is merged into the"
                    + " base weights; call unmerge() first");
        }
        enabled = false;
    }

    /** Turns adapters back on. */
    public void enableAdapters() {
        requireUsable();
        enabled = true;
    }

    /**
     * Whether adapters are applied.
     *
     * @return false after {@link #disableAdapters()}
     */
    public boolean isAdaptersEnabled() {
        return enabled;
    }

    // ------------------------------------------------------------------ merge

    /**
     * Merges the active adapter into the base weights (W ← W + ΔW), so inference costs no more than the base model.
     * Merging twice warns and does nothing. Refuses an adapter with non-finite values.
     *
     * @throws IllegalStateException if there is no active adapter
     */
    public void merge() {
        requireUsable();
        Adapter a = requireActive();
        if (isMerged()) {
            LOG.warn("adapter '{}' is already merged; merge() does nothing", activeAdapter);
            return;
        }
        List<Layer> done = new ArrayList<>();
        try {
            for (Map.Entry<String, LayerAdapter> e : a.byPath.entrySet()) {
                Layer l = layers.get(e.getKey());
                e.getValue().merge(l.target.weight().getArray());
                l.merged = a.name;
                done.add(l);
            }
        } catch (RuntimeException ex) {
            for (Layer l : done) {
                a.byPath.get(l.target.path()).unmerge(l.target.weight().getArray());
                l.merged = null;
            }
            throw ex;
        }
    }

    /** Subtracts the merged adapter from the base weights again. Does nothing when nothing is merged. */
    public void unmerge() {
        requireUsable();
        for (Layer l : layers.values()) {
            if (l.merged != null) {
                adapters.get(l.merged).byPath.get(l.target.path()).unmerge(l.target.weight().getArray());
                l.merged = null;
            }
        }
    }

    /**
     * Whether an adapter is merged into the base weights.
     *
     * @return true after {@link #merge()} until {@link #unmerge()}
     */
    public boolean isMerged() {
        return layers.values().stream().anyMatch(l -> l.merged != null);
    }

    /**
     * Merges the active adapter, writes its {@code modules_to_save} into the base modules, removes every wrapper and
     * returns the base model: a plain DJL block with W + ΔW that no longer needs peft4j. This wrapper is unusable
     * afterwards.
     *
     * @return the base block, its parameters' trainability as before wrapping
     */
    public Block mergeAndUnload() {
        requireUsable();
        requireActive();
        merge();
        for (Pair<Parameter, Parameter> p : adapters.get(activeAdapter).saved.values()) {
            ParameterValues.copyInto(p.getKey().getArray(), p.getValue().getArray());
        }
        return unloadAll();
    }

    /**
     * Removes every adapter without merging and returns the base model as it was before wrapping.
     *
     * @return the base block
     */
    public Block unload() {
        requireUsable();
        unmerge();
        return unloadAll();
    }

    private Block unloadAll() {
        for (Layer l : new ArrayList<>(layers.values())) {
            eject(l);
        }
        layers.clear();
        for (Adapter a : adapters.values()) {
            a.byPath.values().forEach(LayerAdapter::close);
            a.saved.values().forEach(p -> p.getValue().close());
        }
        adapters.clear();
        parameters.clear();
        originalRequiresGrad.forEach((p, g) -> p.freeze(!g));
        unloaded = true;
        activeAdapter = null;
        return base;
    }

    // ------------------------------------------------------------------ training hooks

    /**
     * Training-loop hook: call after every backward pass (each micro-batch), while the pass's arrays are alive.
     * {@link io.github.peft4j.train.FineTuner} calls it; a loop of your own must too when the active method needs it
     * (SaRA and SpIEL do; LoRA, DoRA and SSF do not). Does nothing while adapters are disabled or merged.
     */
    public void afterBackward() {
        Adapter a = hookTarget();
        if (a != null) {
            AdapterMethods.forConfig(a.config).afterBackward(a.config, Collections.unmodifiableMap(a.byPath));
        }
    }

    /**
     * Training-loop hook: call once per optimizer step, after all micro-batches' backward passes and before gradient
     * clipping and the update.
     *
     * @param step the 0-based step about to be applied
     */
    public void beforeStep(long step) {
        Adapter a = hookTarget();
        if (a != null) {
            AdapterMethods.forConfig(a.config).beforeStep(a.config, Collections.unmodifiableMap(a.byPath), step);
        }
    }

    /**
     * Training-loop hook: call once per optimizer step, after the update.
     *
     * @param step the 0-based step just applied
     * @param optimizer access to the optimizer's per-entry state ({@link OptimizerAccess#NONE} if it has none)
     */
    public void afterStep(long step, OptimizerAccess optimizer) {
        Adapter a = hookTarget();
        if (a != null) {
            AdapterMethods.forConfig(a.config).afterStep(a.config, Collections.unmodifiableMap(a.byPath), step,
                    optimizer);
        }
    }

    private Adapter hookTarget() {
        if (unloaded || activeAdapter == null || !isAdaptersEnabled() || isMerged()) {
            return null;
        }
        return adapters.get(activeAdapter);
    }

    // ------------------------------------------------------------------ counts

    /**
     * Counts trainable and all parameters (adapters and saved-module copies included, as Python PEFT does).
     *
     * @return the counts
     */
    public TrainableParameters getTrainableParameters() {
        long trainable = 0;
        long all = 0;
        for (Pair<String, Parameter> p : getParameters()) {
            long n = p.getValue().getArray().size();
            all += n;
            if (p.getValue().requiresGradient()) {
                trainable += n;
            }
        }
        return new TrainableParameters(trainable, all);
    }

    /**
     * Logs and returns Python PEFT's line {@code trainable params: N || all params: M || trainable%: P}.
     *
     * @return the line
     */
    public String printTrainableParameters() {
        String s = getTrainableParameters().toString();
        LOG.info(s);
        return s;
    }

    /**
     * Returns the wrapped base model. Its weights are frozen and, while merged, hold W + ΔW.
     *
     * @return the base block
     */
    public Block getBaseModel() {
        return base;
    }

    /**
     * Returns the module paths of the base model and the class of each module, for discovering target names.
     *
     * @return path to simple class name, in model order
     */
    public Map<String, String> getModulePaths() {
        Map<String, String> out = new LinkedHashMap<>();
        for (ModuleTree.Node n : ModuleTree.walk(base)) {
            if (!n.path().isEmpty()) {
                out.put(n.path(), n.block().getClass().getSimpleName());
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ save / load

    /**
     * Saves every adapter in the Hugging Face PEFT layout, atomically: the adapter named {@code default} at the root
     * of {@code dir}, every other one in a sub-folder named after it. Python loads it with
     * {@code PeftModel.from_pretrained(base_model, dir)}.
     *
     * @param dir the directory, created or replaced as a whole
     * @throws IOException if writing fails; a previous directory is then left unchanged
     */
    public void saveAdapters(Path dir) throws IOException {
        requireUsable();
        if (adapters.isEmpty()) {
            throw new IllegalStateException("there is no adapter to save");
        }
        AtomicDirectory.write(dir, tmp -> {
            for (Adapter a : adapters.values()) {
                writeAdapter(a, DEFAULT_ADAPTER.equals(a.name) ? tmp : tmp.resolve(a.name));
            }
        });
    }

    /**
     * Saves one adapter at the root of a directory, atomically.
     *
     * @param name the adapter name
     * @param dir the directory, created or replaced as a whole
     * @throws IOException if writing fails; a previous directory is then left unchanged
     */
    public void saveAdapter(String name, Path dir) throws IOException {
        requireUsable();
        Adapter a = requireAdapter(name);
        AtomicDirectory.write(dir, tmp -> writeAdapter(a, tmp));
    }

    /**
     * Returns the tensors an adapter saves, keyed as in {@code adapter_model.safetensors}
     * ({@code base_model.model.<module path>.lora_A.weight}, ...). The arrays are the live parameter arrays.
     *
     * @param name the adapter name
     * @return key to array, sorted by key
     */
    public Map<String, NDArray> getAdapterTensors(String name) {
        Adapter a = requireAdapter(name);
        Map<String, NDArray> out = new java.util.TreeMap<>();
        for (Map.Entry<String, Parameter> e : expectedTensors(a).entrySet()) {
            out.put(e.getKey(), e.getValue().getArray());
        }
        return out;
    }

    /**
     * Loads an adapter directory written by Python PEFT or by peft4j and adds it under a name. The first loaded
     * adapter becomes active.
     *
     * @param dir the directory holding {@code adapter_config.json} and {@code adapter_model.safetensors}
     * @param name the name to give the adapter
     * @throws IOException if a file is missing, truncated or corrupted
     * @throws IllegalArgumentException if the config is invalid or the tensors do not fit the model (the message
     *     names the tensor and both shapes); the model is then left as it was
     */
    public void loadAdapter(Path dir, String name) throws IOException {
        requireUsable();
        ObjectNode json = AdapterFiles.readConfig(dir);
        AdapterMethod method = AdapterMethods.forPeftType(json.get("peft_type").asText());
        AdapterConfig config;
        try {
            config = method.parseConfig(json);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir.resolve(AdapterFiles.CONFIG) + ": " + e.getMessage(), e);
        }
        try (NDManager scope = manager.newSubManager()) {
            Map<String, NDArray> tensors = AdapterFiles.readTensors(dir, scope);
            addAdapter(name, config);
            try {
                assign(requireAdapter(name), tensors, dir);
            } catch (RuntimeException e) {
                deleteAdapter(name);
                throw e;
            }
        }
    }

    private void assign(Adapter a, Map<String, NDArray> tensors, Path dir) {
        Map<String, Parameter> expected = expectedTensors(a);
        List<String> missing = new ArrayList<>();
        for (String k : expected.keySet()) {
            if (!tensors.containsKey(k)) {
                missing.add(k);
            }
        }
        List<String> unexpected = new ArrayList<>();
        for (String k : tensors.keySet()) {
            if (!expected.containsKey(k)) {
                unexpected.add(k);
            }
        }
        if (!missing.isEmpty() || !unexpected.isEmpty()) {
            throw new IllegalArgumentException(dir.resolve(AdapterFiles.WEIGHTS) + " does not fit the model with"
                    + " its config: " + (missing.isEmpty() ? "" : "missing tensors " + abbreviate(missing) + " ")
                    + (unexpected.isEmpty() ? "" : "unexpected tensors " + abbreviate(unexpected) + " ")
                    + "(is it the adapter of another base model, or a different module prefix such as 'bert.'?)");
        }
        for (Map.Entry<String, Parameter> e : expected.entrySet()) {
            NDArray src = tensors.get(e.getKey());
            NDArray dst = e.getValue().getArray();
            if (!src.getShape().equals(dst.getShape())) {
                throw new IllegalArgumentException("tensor '" + e.getKey() + "' in " + dir.resolve(
                        AdapterFiles.WEIGHTS) + " has shape " + src.getShape() + " but the model expects "
                        + dst.getShape());
            }
        }
        for (Map.Entry<String, Parameter> e : expected.entrySet()) {
            ParameterValues.copyInto(e.getValue().getArray(), tensors.get(e.getKey()));
        }
        for (Map.Entry<String, LayerAdapter> e : a.byPath.entrySet()) {
            try {
                e.getValue().afterLoad();
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(dir.resolve(AdapterFiles.WEIGHTS) + ", layer '" + e.getKey()
                        + "': " + ex.getMessage(), ex);
            }
        }
    }

    private Map<String, Parameter> expectedTensors(Adapter a) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (Map.Entry<String, LayerAdapter> e : a.byPath.entrySet()) {
            for (Map.Entry<String, Parameter> p : e.getValue().parameters().entrySet()) {
                out.put(AdapterFiles.KEY_PREFIX + e.getKey() + "." + p.getKey(), p.getValue());
            }
        }
        for (Map.Entry<String, Pair<Parameter, Parameter>> e : a.saved.entrySet()) {
            out.put(AdapterFiles.KEY_PREFIX + e.getKey(), e.getValue().getValue());
        }
        return out;
    }

    private void writeAdapter(Adapter a, Path dir) throws IOException {
        AdapterMethod method = AdapterMethods.forConfig(a.config);
        ObjectNode json = method.exportConfig(a.config, Collections.unmodifiableMap(a.byPath));
        json.put("inference_mode", true);
        try (NDManager scope = manager.newSubManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (Map.Entry<String, LayerAdapter> e : a.byPath.entrySet()) {
                for (Map.Entry<String, NDArray> t : e.getValue().exportTensors(scope).entrySet()) {
                    tensors.put(AdapterFiles.KEY_PREFIX + e.getKey() + "." + t.getKey(), t.getValue());
                }
            }
            for (Map.Entry<String, Pair<Parameter, Parameter>> e : a.saved.entrySet()) {
                tensors.put(AdapterFiles.KEY_PREFIX + e.getKey(), e.getValue().getValue().getArray());
            }
            AdapterFiles.write(dir, json, tensors, modelCard(a, method));
        }
    }

    private String modelCard(Adapter a, AdapterMethod method) {
        AdapterConfig c = a.config;
        StringBuilder sb = new StringBuilder();
        sb.append("---\nlibrary_name: peft\n");
        if (c.baseModelNameOrPath() != null) {
            sb.append("base_model: ").append(c.baseModelNameOrPath()).append('\n');
        }
        sb.append("---\n\n# Adapter '").append(a.name).append("'\n\n");
        sb.append("Written by peft4j (Java, DJL) in the Hugging Face PEFT layout; load it in Python with\n");
        sb.append("`PeftModel.from_pretrained(base_model, path)` or in Java with `PeftModel.loadAdapter`.\n\n");
        sb.append("- method: ").append(c.peftType()).append('\n');
        sb.append("- base model: ").append(c.baseModelNameOrPath() == null ? "(not recorded)"
                : c.baseModelNameOrPath()).append('\n');
        sb.append("- task type: ").append(c.taskType() == null ? "(none)" : c.taskType()).append('\n');
        sb.append("- target modules: ").append(c.targetModules()).append('\n');
        sb.append("- layers (").append(a.byPath.size()).append("):\n");
        for (Map.Entry<String, LayerAdapter> e : a.byPath.entrySet()) {
            sb.append("  - `").append(e.getKey()).append("` rank ").append(e.getValue().rank()).append('\n');
        }
        if (!a.saved.isEmpty()) {
            sb.append("- modules saved whole: ").append(savedModules(a)).append('\n');
        }
        sb.append("- initialization seed: ").append(seed).append('\n');
        for (String note : method.modelCardNotes(c, Collections.unmodifiableMap(a.byPath))) {
            sb.append("- ").append(note).append('\n');
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------ block

    @Override
    protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
            PairList<String, Object> params) {
        requireUsable();
        NDManager scope = inputs.head().getManager();
        return base.forward(new InterceptingStore(parameterStore, scope), inputs, training, params);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return base.getOutputShapes(inputShapes);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        base.initialize(manager, dataType, inputShapes);
    }

    @Override
    public String toString() {
        return "PeftModel(adapters=" + adapters.keySet() + ", active=" + activeAdapter + ", base=" + base + ")";
    }

    /**
     * The parameter store the base model sees: it redirects saved modules to the active adapter's copies and serves
     * W + ΔW for weight-path layers. Everything else goes to the trainer's store, so optimizers update the adapter
     * parameters as any other.
     */
    private final class InterceptingStore extends ParameterStore {
        private final ParameterStore delegate;
        private final NDManager scope;

        InterceptingStore(ParameterStore delegate, NDManager scope) {
            super(delegate.getManager(), false);
            this.delegate = delegate;
            this.scope = scope;
        }

        @Override
        public NDArray getValue(Parameter parameter, Device device, boolean training) {
            if (parameter == null) {
                return null;
            }
            Parameter source = parameter;
            if (enabled && activeAdapter != null) {
                Parameter copy = adapters.get(activeAdapter).copyByOriginalId.get(parameter.getId());
                if (copy != null) {
                    source = copy;
                }
            }
            NDArray value = delegate.getValue(source, device, training);
            Layer layer = weightPathByParamId.get(parameter.getId());
            if (layer != null) {
                LayerAdapter a = applicable(layer);
                if (a != null) {
                    value = a.adaptWeight(delegate, value, scope, training);
                }
            }
            return value;
        }

        @Override
        public void setParameterServer(ParameterServer parameterServer, Device[] devices) {
            delegate.setParameterServer(parameterServer, devices);
        }

        @Override
        public void updateAllParameters() {
            delegate.updateAllParameters();
        }

        @Override
        public NDManager getManager() {
            return delegate.getManager();
        }

        @Override
        public void sync() {
            delegate.sync();
        }
    }

    // ------------------------------------------------------------------ internals

    private LayerAdapter applicable(Layer layer) {
        if (!enabled || activeAdapter == null || layer.merged != null) {
            return null;
        }
        Adapter a = adapters.get(activeAdapter);
        return a == null ? null : a.byPath.get(layer.target.path());
    }

    private List<ModuleTree.Node> selectTargets(List<ModuleTree.Node> nodes, AdapterConfig config,
            ModuleSelector saveSelector, AdapterMethod method) {
        ModuleSelector targetSel = config.targetModules();
        if (targetSel.isEmpty()) {
            throw new IllegalArgumentException("target_modules is empty: name the layers to adapt, e.g. [\"query\","
                    + " \"value\"], a regex, or \"all-linear\"; linear layers of this model: " + linearNames(nodes));
        }
        // as in Python PEFT, nothing inside a module saved whole gets an adapter (e.g. "dense" skips pooler.dense
        // when "pooler" is in modules_to_save)
        List<String> saved = new ArrayList<>();
        if (!config.modulesToSave().isEmpty()) {
            for (ModuleTree.Node n : nodes) {
                if (!n.path().isEmpty() && saveSelector.matches(n.path())) {
                    saved.add(n.path());
                }
            }
        }
        List<ModuleTree.Node> out = new ArrayList<>();
        for (ModuleTree.Node n : nodes) {
            if (n.path().isEmpty() || !targetSel.matches(n.path()) || config.excludeModules().matches(n.path())
                    || saved.stream().anyMatch(m -> n.path().equals(m) || n.path().startsWith(m + "."))) {
                continue;
            }
            boolean adaptable = method.canAdapt(n.block());
            if (targetSel.isAllLinear()) {
                if (adaptable && isLinear(n.block())) {
                    out.add(n);
                }
                continue;
            }
            if (!adaptable) {
                if (n.block().getChildren().isEmpty()) {
                    throw new IllegalArgumentException("target_modules " + targetSel + " matched '" + n.path()
                            + "', a " + n.block().getClass().getSimpleName() + "; " + config.peftType()
                            + " adapts " + method.adaptableModules() + ". Linear layers of this model: "
                            + linearNames(nodes));
                }
                continue; // a container whose name matches (e.g. "attention.output" for "output"): skip it
            }
            out.add(n);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("target_modules " + targetSel + " matched no module of the model"
                    + (config.excludeModules().isEmpty() ? "" : " (after exclude_modules "
                    + config.excludeModules() + ")") + ". Closest module paths: " + closest(nodes, targetSel)
                    + "; linear layer names: " + linearNames(nodes));
        }
        return out;
    }

    private static boolean isLinear(Block b) {
        if (!(b instanceof Linear)) {
            return false;
        }
        Parameter w = b.getDirectParameters().get("weight");
        return w != null && w.getArray() != null && w.getArray().getShape().dimension() == 2;
    }

    private static TargetLayer targetLayer(ModuleTree.Node n) {
        Parameter w = n.block().getDirectParameters().get("weight");
        Parameter bias = n.block().getDirectParameters().get("bias");
        Shape s = w.getArray().getShape();
        // [out, in] for linear layers; [dim] for normalisations, whose input and output widths are both dim
        return new TargetLayer(n.path(), n.block(), w, bias, s.get(s.dimension() - 1), s.get(0));
    }

    private InjectionMode modeFor(ModuleTree.Node n) {
        boolean replaceable = n.parent() instanceof SequentialBlock || n.parent() instanceof ModuleContainer;
        return injectionMode == InjectionMode.AUTO ? (replaceable ? InjectionMode.ACTIVATION : InjectionMode.WEIGHT)
                : injectionMode;
    }

    private Layer inject(ModuleTree.Node n) {
        TargetLayer t = targetLayer(n);
        InjectionMode mode = modeFor(n);
        Layer layer = new Layer(t, n, mode);
        if (mode == InjectionMode.ACTIVATION) {
            layer.wrapper = new AdaptedBlock(n.block(), () -> applicable(layer));
            replaceChild(n, layer.wrapper);
        } else {
            weightPathByParamId.put(t.weight().getId(), layer);
        }
        return layer;
    }

    private void eject(Layer l) {
        if (l.wrapper != null) {
            replaceChild(l.node, l.target.block());
        } else {
            weightPathByParamId.remove(l.target.weight().getId());
        }
    }

    private static void replaceChild(ModuleTree.Node n, Block replacement) {
        if (n.parent() instanceof ModuleContainer c) {
            c.replaceChild(n.name(), replacement);
            return;
        }
        SequentialBlock seq = (SequentialBlock) n.parent();
        BlockList children = seq.getChildren();
        List<Block> tail = new ArrayList<>();
        for (int i = children.size() - 1; i >= n.index(); i--) {
            tail.add(0, children.get(i).getValue());
            seq.removeLastBlock();
        }
        tail.set(0, replacement);
        tail.forEach(seq::add);
    }

    private void applyTrainability() {
        for (Adapter a : adapters.values()) {
            boolean train = a.name.equals(activeAdapter);
            for (LayerAdapter la : a.byPath.values()) {
                // integer tensors (indices) are never trainable
                la.parameters().values().stream().filter(p -> p.getArray().getDataType().isFloating())
                        .forEach(p -> p.freeze(!train));
            }
            a.saved.values().forEach(p -> p.getValue().freeze(!train));
        }
    }

    private static boolean insideSaved(Adapter a, String path) {
        return a.savedModules.stream().anyMatch(m -> path.startsWith(m + "."));
    }

    private static String savedModules(Adapter a) {
        return a.savedModules.toString();
    }

    private static String paramKey(String adapter, String path) {
        return adapter + "/" + path;
    }

    private static List<String> linearNames(List<ModuleTree.Node> nodes) {
        return nodes.stream().filter(n -> isLinear(n.block()) && !n.path().isEmpty())
                .map(n -> n.name().matches("\\d+") ? n.path() : n.name()).distinct().sorted()
                .limit(30).collect(Collectors.toList());
    }

    private static List<String> closest(List<ModuleTree.Node> nodes, ModuleSelector sel) {
        List<String> wanted = sel.getNames().isEmpty() ? List.of(sel.toString()) : sel.getNames();
        return nodes.stream().map(ModuleTree.Node::path).filter(p -> !p.isEmpty())
                .sorted(Comparator.comparingInt((String p) -> wanted.stream()
                        .mapToInt(w -> Math.min(distance(w, p), distance(w, p.substring(p.lastIndexOf('.') + 1))))
                        .min().orElse(0)).thenComparing(p -> p))
                .limit(5).collect(Collectors.toList());
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private static String abbreviate(List<String> keys) {
        List<String> sorted = new ArrayList<>(keys);
        Collections.sort(sorted);
        return sorted.size() <= 6 ? sorted.toString()
                : sorted.subList(0, 6) + " and " + (sorted.size() - 6) + " more";
    }

    private Adapter requireAdapter(String name) {
        Adapter a = adapters.get(name);
        if (a == null) {
            throw new IllegalArgumentException("no adapter named '" + name + "'; adapters: " + adapters.keySet());
        }
        return a;
    }

    private Adapter requireActive() {
        if (activeAdapter == null) {
            throw new IllegalStateException("there is no adapter; add one with addAdapter or loadAdapter");
        }
        return adapters.get(activeAdapter);
    }

    private void requireUsable() {
        if (unloaded) {
            throw new IllegalStateException("this PeftModel was unloaded (mergeAndUnload/unload); use the block it"
                    + " returned");
        }
    }

    /** Builds a {@link PeftModel}. */
    public static final class Builder {
        private Block base;
        private AdapterConfig config;
        private String adapterName = DEFAULT_ADAPTER;
        private long seed = 42;
        private InjectionMode injectionMode = InjectionMode.AUTO;
        private NDManager manager;

        private Builder() {}

        /**
         * Sets the base model, its weights initialized or loaded.
         *
         * @param base the block to adapt
         * @return this builder
         */
        public Builder setBaseModel(Block base) {
            this.base = base;
            return this;
        }

        /**
         * Sets the config of the first adapter (optional: without it the model starts with no adapter, e.g. to
         * {@link PeftModel#loadAdapter} one).
         *
         * @param config the config
         * @return this builder
         */
        public Builder setConfig(AdapterConfig config) {
            this.config = config;
            return this;
        }

        /**
         * Names the first adapter.
         *
         * @param name the name (default {@value PeftModel#DEFAULT_ADAPTER})
         * @return this builder
         */
        public Builder optAdapterName(String name) {
            this.adapterName = name;
            return this;
        }

        /**
         * Sets the seed of adapter initialization (default 42). Each layer draws from its own stream derived from
         * the seed, the adapter name and the layer path.
         *
         * @param seed the seed
         * @return this builder
         */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * Chooses how adapters reach layers (default {@link InjectionMode#AUTO}).
         *
         * @param mode the mode
         * @return this builder
         */
        public Builder optInjectionMode(InjectionMode mode) {
            this.injectionMode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /**
         * Sets the manager that owns adapter arrays (default: a sub-manager of the base weights' manager).
         *
         * @param manager the manager
         * @return this builder
         */
        public Builder optManager(NDManager manager) {
            this.manager = manager;
            return this;
        }

        /**
         * Wraps the base model and injects the first adapter.
         *
         * @return the model
         * @throws IllegalArgumentException if the config does not fit the model
         */
        public PeftModel build() {
            Objects.requireNonNull(base, "PeftModel.Builder.setBaseModel is required");
            PeftModel m = new PeftModel(this);
            if (config != null) {
                try {
                    m.addAdapter(adapterName, config);
                } catch (RuntimeException e) {
                    m.unloadAll(); // give the base model its trainability back
                    throw e;
                }
            }
            return m;
        }
    }
}
