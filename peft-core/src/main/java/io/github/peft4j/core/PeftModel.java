package io.github.peft4j.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.peft4j.core.io.AdapterFiles;
import io.github.peft4j.core.io.AtomicDirectory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A DJL block with adapters: the peft4j counterpart of Python's {@code PeftModel}.
 *
 * <p>Wrap a base model (its weights loaded), and peft4j injects an adapter at every target layer, freezes every base
 * parameter, and trains only the adapters (plus the {@code modules_to_save}). The wrapper is itself a {@link Block}:
 * put it in a {@link ai.djl.Model} and train it with DJL's {@code Trainer} (methods with training hooks, SaRA and
 * SpIEL, need a loop that calls the {@link TrainingHooks} this class implements, such as peft-train's
 * {@code FineTuner}).
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
 * The work is done by named parts: target selection ({@code TargetResolver}), injection and the intercepting
 * parameter store ({@code Injector}), the adapters and which is active ({@code AdapterSet}), the modules saved whole
 * ({@code SavedModules}), files ({@code AdapterSerializer}, {@code ModelCard}, {@code TrainingStateFiles}); see
 * {@link InjectionMode} for the two ways an adapter reaches a layer.
 *
 * <p>Many adapters can serve from one base model in one batch: pass one adapter name per row
 * ({@link #forward(ParameterStore, NDList, List)}, or the forward parameter {@value #ADAPTER_NAMES}), as Python PEFT's
 * {@code adapter_names=}; each adapted layer runs the base layer once and each adapter on its own rows, and modules
 * saved whole run once per group of rows with that adapter's copy. Adapters can be loaded and deleted while other
 * threads run forward passes (hot swap): a pass sees the adapters as they were when it started, and the base
 * weights are never touched.
 *
 * <p>Forward passes may run concurrently, as with any DJL block; adding, deleting, switching, merging and enabling
 * adapters wait for the passes under way and hold new ones until done.
 */
public final class PeftModel extends AbstractBlock implements TrainingHooks {

    /** The name of the adapter created by {@link PeftModelBuilder#setConfig}, as in Python PEFT. */
    public static final String DEFAULT_ADAPTER = "default";

    /** The adapter name of a row that runs on the base model alone in a mixed-adapter batch, as in Python PEFT. */
    public static final String BASE_ROWS = "__base__";

    /**
     * The forward parameter that names one adapter per row (a {@code List<String>}; {@value #BASE_ROWS} for none):
     * {@code peft.forward(store, inputs, false, new PairList<>(List.of(ADAPTER_NAMES), List.of(names)))}.
     */
    public static final String ADAPTER_NAMES = "adapter_names";

    /** The forward parameter of one task id per row (integer NDArray or int[]) for Poly/MHR: Python's task_ids. */
    public static final String TASK_IDS = "task_ids";

    private static final Logger LOG = LoggerFactory.getLogger(PeftModel.class);

    private final Block base;
    private final long seed;
    private final NDManager manager;
    private final Map<Parameter, Boolean> originalRequiresGrad = new LinkedHashMap<>();
    private final AdapterSet adapters = new AdapterSet();
    private final Injector injector;
    private final MixedBatches mixed;
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean unloaded;

    PeftModel(PeftModelBuilder b) {
        this.base = addChildBlock("base_model", b.base());
        this.seed = b.seed();
        if (!b.base().isInitialized()) {
            throw new IllegalStateException("the base model must be initialized (weights loaded) before it is"
                    + " wrapped: call block.initialize(manager, DataType.FLOAT32, inputShape) or load its weights"
                    + " first");
        }
        NDManager owner = b.manager();
        if (owner == null) {
            owner = b.base().getParameters().values().get(0).getArray().getManager();
        }
        this.manager = owner.newSubManager();
        this.manager.setName("peft4j-adapters");
        this.injector = new Injector(b.injectionMode(), adapters);
        this.mixed = new MixedBatches(b.base(), adapters, injector);
        for (Parameter p : b.base().getParameters().values()) {
            originalRequiresGrad.put(p, p.requiresGradient());
            p.freeze(true);
        }
    }

    /**
     * Returns a builder.
     *
     * @return a new builder
     */
    public static PeftModelBuilder builder() {
        return new PeftModelBuilder();
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
        lock.writeLock().lock();
        try {
            requireUsable();
            Objects.requireNonNull(config, "config");
            adapters.checkNewName(name);
            if (isMerged()) {
                throw new IllegalStateException("cannot add adapter '" + name + "' while adapter '" + adapters.active()
                        + "' is merged; call unmerge() first");
            }
            add(name, AdapterMethods.forConfig(config), config);
        } finally {
            lock.writeLock().unlock();
        }
    }

    private <C extends AdapterConfig, L extends LayerAdapter> void add(
            String name, AdapterMethod<C, L> method, C config) {
        List<ModuleTree.Node> nodes = ModuleTree.walk(base);
        List<ModuleTree.Node> targets = TargetResolver.resolve(nodes, config.targets(), method, config.peftType());
        List<TargetLayer> layers = new ArrayList<>();
        for (ModuleTree.Node n : targets) {
            injector.check(n, method, config.peftType());
            layers.add(injector.targetLayer(n));
        }
        SavedModules saved = SavedModules.copy(nodes, config.targets().modulesToSave(), manager);
        NamedAdapter<C, L> adapter = NamedAdapter.create(
                name,
                method,
                config,
                layers,
                new AdapterContext(name, seed, manager, adapters.forwardParameters()),
                saved);

        // nothing can fail from here on: mutate the model
        targets.forEach(injector::injectIfAbsent);
        adapters.add(adapter);
        mixed.wrapSavedModules(saved.modules());
        adapter.parametersByPath().forEach((k, p) -> parameters.put(name + "/" + k, p));
        String savedWhole = saved.isEmpty() ? "" : ", modules to save: " + saved.modules();
        LOG.info("added adapter '{}' ({}) on {} layer(s){}", name, config.peftType(), targets.size(), savedWhole);
    }

    /**
     * Makes an adapter the active one: it alone is applied and trainable.
     *
     * @param name the adapter name
     * @throws IllegalArgumentException if there is no such adapter
     * @throws IllegalStateException if an adapter is merged
     */
    public void setActiveAdapter(String name) {
        lock.writeLock().lock();
        try {
            requireUsable();
            adapters.require(name);
            if (!name.equals(adapters.active()) && isMerged()) {
                throw new IllegalStateException("cannot switch to adapter '" + name + "' while '" + adapters.active()
                        + "' is merged; call unmerge() first");
            }
            adapters.setActive(name);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Returns the active adapter's name.
     *
     * @return the name, or {@code null} when no adapter exists
     */
    public String getActiveAdapter() {
        return adapters.active();
    }

    /**
     * Returns the adapter names in the order they were added.
     *
     * @return the names
     */
    public List<String> getAdapterNames() {
        return adapters.names();
    }

    /**
     * Returns an adapter's config.
     *
     * @param name the adapter name
     * @return the config
     */
    public AdapterConfig getConfig(String name) {
        return adapters.require(name).config;
    }

    /**
     * Returns an adapter's config as the method's own config class.
     *
     * @param name the adapter name
     * @param type the expected config class
     * @param <C> the config type
     * @return the config
     * @throws IllegalArgumentException if the adapter is of another method
     */
    public <C extends AdapterConfig> C getConfig(String name, Class<C> type) {
        AdapterConfig c = getConfig(name);
        if (!type.isInstance(c)) {
            throw new IllegalArgumentException("adapter '" + name + "' is " + c.peftType() + " ("
                    + c.getClass().getSimpleName() + "), not " + type.getSimpleName());
        }
        return type.cast(c);
    }

    /**
     * Returns the paths of the layers an adapter is injected at.
     *
     * @param name the adapter name
     * @return the module paths, in model order
     */
    public List<String> getTargetPaths(String name) {
        return List.copyOf(adapters.require(name).layers().keySet());
    }

    /**
     * Returns the injection path used for a layer.
     *
     * @param path a module path that hosts an adapter
     * @return {@link InjectionMode#ACTIVATION} or {@link InjectionMode#WEIGHT}
     */
    public InjectionMode getInjectionMode(String path) {
        Injector.Injected l = injector.get(path);
        if (l == null) {
            throw new IllegalArgumentException("no adapter is injected at '" + path + "'; adapted layers: "
                    + injector.all().stream().map(i -> i.target.path()).toList());
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
        LayerAdapter a = adapters.require(name).layers().get(path);
        if (a == null) {
            throw new IllegalArgumentException("adapter '" + name + "' is not injected at '" + path + "'; it is at "
                    + adapters.get(name).layers().keySet());
        }
        return a;
    }

    /**
     * Returns an adapter's layers as the method's own layer class (e.g. to initialise LoRA layers).
     *
     * @param name the adapter name
     * @param type the expected layer class
     * @param <L> the layer type
     * @return module path to layer, in model order
     * @throws IllegalArgumentException if the adapter's layers are of another class (another method)
     */
    public <L extends LayerAdapter> Map<String, L> getLayerAdapters(String name, Class<L> type) {
        NamedAdapter<?, ?> a = adapters.require(name);
        Map<String, L> out = new LinkedHashMap<>();
        for (Map.Entry<String, ? extends LayerAdapter> e : a.layers().entrySet()) {
            if (!type.isInstance(e.getValue())) {
                throw new IllegalArgumentException("adapter '" + name + "' is " + a.config.peftType()
                        + ": its layers are " + e.getValue().getClass().getSimpleName() + ", not "
                        + type.getSimpleName());
            }
            out.put(e.getKey(), type.cast(e.getValue()));
        }
        return out;
    }

    /**
     * Removes an adapter, its parameters and, where no other adapter remains, its wrappers.
     *
     * @param name the adapter name
     * @throws IllegalStateException if that adapter is merged
     */
    public void deleteAdapter(String name) {
        lock.writeLock().lock();
        try {
            requireUsable();
            NamedAdapter<?, ?> a = adapters.require(name);
            if (name.equals(adapters.active()) && isMerged()) {
                throw new IllegalStateException(
                        "cannot delete adapter '" + name + "' while it is merged; call unmerge() first");
            }
            List<String> paths = List.copyOf(a.layers().keySet());
            adapters.remove(name);
            parameters.keySet().removeIf(k -> k.startsWith(name + "/"));
            paths.stream().filter(p -> !adapters.othersUse(p)).forEach(injector::eject);
            mixed.unwrapSavedModules(false);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Turns adapters off: the model computes the base model's outputs until {@link #enableAdapters()}. */
    public void disableAdapters() {
        requireUsable();
        if (isMerged()) {
            throw new IllegalStateException("cannot disable adapters while '" + adapters.active() + "' is merged into"
                    + " the base weights; call unmerge() first");
        }
        adapters.setEnabled(false);
    }

    /** Turns adapters back on. */
    public void enableAdapters() {
        requireUsable();
        adapters.setEnabled(true);
    }

    /**
     * Whether adapters are applied.
     *
     * @return false after {@link #disableAdapters()}
     */
    public boolean isAdaptersEnabled() {
        return adapters.enabled();
    }

    // ------------------------------------------------------------------ merge

    /**
     * Merges the active adapter into the base weights (W ← W + ΔW), so inference costs no more than the base model.
     * Merging twice warns and does nothing. Refuses an adapter with non-finite values.
     *
     * @throws IllegalStateException if there is no active adapter, or its method cannot be merged
     *     ({@link AdapterMethod#supportsMerge()})
     */
    public void merge() {
        lock.writeLock().lock();
        try {
            requireUsable();
            NamedAdapter<?, ?> a = adapters.requireActive();
            if (!a.method.supportsMerge()) {
                throw new IllegalStateException("adapter '" + a.name + "' (" + a.config.peftType() + ") has no one"
                        + " weight update (nonlinear, or one per task) and cannot be merged; serve it unmerged");
            }
            if (isMerged()) {
                LOG.warn("adapter '{}' is already merged; merge() does nothing", a.name);
                return;
            }
            injector.merge(a);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Subtracts the merged adapter from the base weights again. Does nothing when nothing is merged. */
    public void unmerge() {
        lock.writeLock().lock();
        try {
            requireUsable();
            injector.unmerge(adapters::get);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Whether an adapter is merged into the base weights.
     *
     * @return true after {@link #merge()} until {@link #unmerge()}
     */
    public boolean isMerged() {
        return injector.anyMerged();
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
        NamedAdapter<?, ?> a = adapters.requireActive();
        merge();
        a.saved.writeBack();
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

    Block unloadAll() {
        injector.ejectAll();
        mixed.unwrapSavedModules(true);
        adapters.clear();
        parameters.clear();
        originalRequiresGrad.forEach((p, g) -> p.freeze(!g));
        unloaded = true;
        return base;
    }

    // ------------------------------------------------------------------ training hooks

    /**
     * {@inheritDoc} Does nothing while adapters are disabled or merged.
     */
    @Override
    public void afterBackward() {
        NamedAdapter<?, ?> a = hookTarget();
        if (a != null) {
            a.afterBackward();
        }
    }

    @Override
    public void beforeStep(long step) {
        NamedAdapter<?, ?> a = hookTarget();
        if (a != null) {
            a.beforeStep(step);
        }
    }

    @Override
    public void afterStep(long step, OptimizerAccess optimizer) {
        NamedAdapter<?, ?> a = hookTarget();
        if (a != null) {
            a.afterStep(step, optimizer);
        }
    }

    private NamedAdapter<?, ?> hookTarget() {
        return unloaded ? null : adapters.hookTarget(isMerged());
    }

    /**
     * {@inheritDoc} Writes every adapter: its config as trained and all of its tensors and training state.
     */
    @Override
    public void saveState(Path dir) throws IOException {
        requireUsable();
        TrainingStateFiles.save(adapters.all(), adapters.active(), adapters.enabled(), dir, manager);
    }

    /**
     * {@inheritDoc} Adds the adapters this model lacks with the configs they were trained with (so a resumed run
     * needs neither its flags nor its initializer again), checks that those it has are the same, restores their
     * tensors and state, and the active adapter.
     *
     * @throws IllegalArgumentException if an adapter of the same name has another config, or a tensor does not fit
     */
    @Override
    public void loadState(Path dir) throws IOException {
        requireUsable();
        TrainingStateFiles.Index index = TrainingStateFiles.load(dir, adapters::get, this::addAdapter, manager);
        if (index.active() != null) {
            setActiveAdapter(index.active());
        }
        adapters.setEnabled(index.enabled());
    }

    /**
     * Reads the configs of the adapters of a training state written by {@link #saveState}, e.g. to rebuild a model
     * before resuming.
     *
     * @param dir the state directory
     * @return adapter name to config as trained
     * @throws IOException if a file is missing or corrupted
     */
    public static Map<String, AdapterConfig> readStateConfigs(Path dir) throws IOException {
        return TrainingStateFiles.readConfigs(dir);
    }

    // ------------------------------------------------------------------ counts

    /**
     * Counts trainable and all parameters (adapters and saved-module copies included, as Python PEFT does).
     *
     * @return the counts
     */
    public TrainableParameters getTrainableParameters() {
        return TrainableParameters.of(this);
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
        return ModuleTree.modulePaths(base);
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
            for (NamedAdapter<?, ?> a : adapters.all()) {
                AdapterSerializer.write(a, DEFAULT_ADAPTER.equals(a.name) ? tmp : tmp.resolve(a.name), seed, manager);
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
        NamedAdapter<?, ?> a = adapters.require(name);
        AtomicDirectory.write(dir, tmp -> AdapterSerializer.write(a, tmp, seed, manager));
    }

    /**
     * Returns the tensors an adapter trains with, keyed as in {@code adapter_model.safetensors}
     * ({@code base_model.model.<module path>.lora_A.weight}, ...). The arrays are the live parameter arrays.
     *
     * @param name the adapter name
     * @return key to array, sorted by key
     */
    public Map<String, NDArray> getAdapterTensors(String name) {
        Map<String, NDArray> out = new TreeMap<>();
        AdapterSerializer.expectedTensors(adapters.require(name)).forEach((k, p) -> out.put(k, p.getArray()));
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
        AdapterConfig config = AdapterSerializer.readConfig(dir);
        try (NDManager scope = manager.newSubManager()) {
            Map<String, NDArray> tensors = AdapterFiles.readTensors(dir, scope);
            // the file is read before the lock: serving waits only for the adapter's injection and values
            lock.writeLock().lock();
            try {
                addAdapter(name, config);
                try {
                    AdapterSerializer.assign(adapters.require(name), tensors, dir.resolve(AdapterFiles.WEIGHTS));
                } catch (RuntimeException e) {
                    deleteAdapter(name);
                    throw e;
                }
            } finally {
                lock.writeLock().unlock();
            }
        }
    }

    // ------------------------------------------------------------------ block

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore, NDList inputs, boolean training, PairList<String, Object> params) {
        lock.readLock().lock();
        try {
            requireUsable();
            NDManager scope = inputs.head().getManager();
            List<String> rowNames = MixedBatches.adapterNames(params);
            PairList<String, Object> outer = adapters.swapForwardParameters(params);
            try {
                if (rowNames == null) {
                    return base.forward(
                            injector.store(parameterStore, scope, adapters::redirect), inputs, training, params);
                }
                return mixed.forward(parameterStore, inputs, training, rowNames, params);
            } finally {
                adapters.swapForwardParameters(outer);
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Runs a mixed-adapter batch for inference: row i goes through the adapter {@code adapterNames.get(i)}, or through
     * the base model alone for {@value #BASE_ROWS}; as if each row ran alone with its adapter active, in one pass.
     * The same as a forward pass with the parameter {@value #ADAPTER_NAMES}.
     *
     * @param parameterStore the caller's store
     * @param inputs the batch, rows along the first axis of each input
     * @param adapterNames one adapter name per row
     * @return the outputs
     * @throws IllegalArgumentException if the names do not match the rows, name an unknown adapter, or an adapter
     *     reaches a layer on the weight path or saves a module that cannot be wrapped
     * @throws IllegalStateException if an adapter is merged
     */
    public NDList forward(ParameterStore parameterStore, NDList inputs, List<String> adapterNames) {
        Objects.requireNonNull(adapterNames, "adapterNames");
        return forward(parameterStore, inputs, false, new PairList<>(List.of(ADAPTER_NAMES), List.of(adapterNames)));
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
        return "PeftModel(adapters=" + adapters.names() + ", active=" + adapters.active() + ", base=" + base + ")";
    }

    // ------------------------------------------------------------------ internals

    private void requireUsable() {
        if (unloaded) {
            throw new IllegalStateException(
                    "this PeftModel was unloaded (mergeAndUnload/unload); use the block it" + " returned");
        }
    }
}
