package io.github.peft4j.core;

/** The {@code README.md} written beside an adapter: provenance and what each layer trains. */
final class ModelCard {

    private ModelCard() {}

    /**
     * Renders the card.
     *
     * @param a the adapter
     * @param seed the initialisation seed
     * @return Markdown with Hugging Face's front matter
     */
    static String render(NamedAdapter<?, ?> a, long seed) {
        Targets t = a.config.targets();
        StringBuilder sb = new StringBuilder();
        sb.append("---\nlibrary_name: peft\n");
        if (t.baseModelNameOrPath() != null) {
            sb.append("base_model: ").append(t.baseModelNameOrPath()).append('\n');
        }
        sb.append("---\n\n# Adapter '").append(a.name).append("'\n\n");
        sb.append("Written by peft4j (Java, DJL) in the Hugging Face PEFT layout; load it in Python with\n");
        sb.append("`PeftModel.from_pretrained(base_model, path)` or in Java with `PeftModel.loadAdapter`.\n\n");
        sb.append("- method: ").append(a.config.peftType()).append('\n');
        sb.append("- base model: ")
                .append(t.baseModelNameOrPath() == null ? "(not recorded)" : t.baseModelNameOrPath())
                .append('\n');
        sb.append("- task type: ")
                .append(t.taskType() == null ? "(none)" : t.taskType())
                .append('\n');
        sb.append("- target modules: ").append(t.targetModules()).append('\n');
        sb.append("- layers (").append(a.layers().size()).append("):\n");
        a.layers().forEach((path, l) -> sb.append("  - `")
                .append(path)
                .append("`: ")
                .append(l.describe())
                .append('\n'));
        if (!a.saved.isEmpty()) {
            sb.append("- modules saved whole: ").append(a.saved.modules()).append('\n');
        }
        sb.append("- initialization seed: ").append(seed).append('\n');
        for (String note : a.modelCardNotes()) {
            sb.append("- ").append(note).append('\n');
        }
        return sb.toString();
    }
}
