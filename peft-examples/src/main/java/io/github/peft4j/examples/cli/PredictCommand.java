package io.github.peft4j.examples.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.peft4j.core.io.Json;
import io.github.peft4j.examples.Classifier;
import io.github.peft4j.models.bert.Bert;
import io.github.peft4j.models.bert.BertModel;
import io.github.peft4j.models.bert.BertTokenizer;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code peft predict}: class probabilities, or the sentence embedding, of one text. */
@Command(
        name = "predict",
        mixinStandardHelpOptions = true,
        description = "Print the class probabilities of a text (or, with --embed, its sentence embedding).")
public final class PredictCommand implements Callable<Integer> {

    @Mixin
    private ModelOptions modelOptions;

    @Option(names = "--adapter", description = "adapter directory written by 'peft train'")
    private Path adapter;

    @Option(names = "--text", required = true, description = "the text")
    private String text;

    @Option(names = "--json", description = "print JSON")
    private boolean json;

    @Option(names = "--embed", description = "print the mean-pooled, L2-normalised sentence embedding as JSON floats")
    private boolean embed;

    @Override
    public Integer call() throws Exception {
        Path modelDir = modelOptions.modelDir();
        try (NDManager manager = modelOptions.manager();
                BertTokenizer tokenizer = BertTokenizer.open(modelDir, modelOptions.maxLength)) {
            NDList inputs = tokenizer.encode(List.of(text)).toNDList(manager);
            ParameterStore ps = new ParameterStore(manager, false);
            if (embed) {
                NDArray e;
                if (adapter == null) {
                    BertModel m = Bert.loadModel(modelDir, manager);
                    e = m.forward(ps, inputs, false).get(1);
                } else {
                    Classifier c = Classifier.load(modelDir, adapter, manager);
                    e = c.base().getBert().forward(ps, inputs, false).get(1);
                }
                ArrayNode a = Json.MAPPER.createArrayNode();
                for (float v : e.toFloatArray()) {
                    a.add(v);
                }
                System.out.println(a);
                return 0;
            }
            Classifier c = Classifier.load(modelDir, adapter, manager);
            float[] p = c.model().forward(ps, inputs, false).get(0).softmax(-1).toFloatArray();
            if (json) {
                ObjectNode o = Json.MAPPER.createObjectNode();
                ObjectNode probs = o.putObject("probabilities");
                int best = 0;
                for (int i = 0; i < p.length; i++) {
                    probs.put(c.classes().get(i), p[i]);
                    best = p[i] > p[best] ? i : best;
                }
                o.put("label", c.classes().get(best));
                System.out.println(o);
            } else {
                for (int i = 0; i < p.length; i++) {
                    System.out.printf(Locale.ROOT, "%-12s %.4f%n", c.classes().get(i), p[i]);
                }
            }
            return 0;
        }
    }
}
