package io.github.peft4j.examples.cli;

import io.github.peft4j.examples.data.DataFiles;
import io.github.peft4j.examples.data.LabeledTexts;
import io.github.peft4j.examples.data.SpamAssassin;
import io.github.peft4j.examples.data.Split;
import io.github.peft4j.models.bert.MiniLm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The {@code --data} option: the SpamAssassin corpus, a CSV/JSONL file, or a directory of split files. */
public final class DataOptions {

    @Option(
            names = "--data",
            required = true,
            description = "spam-assassin, a .csv/.jsonl file with 'text' and 'label' columns (split 80/10/10), or a"
                    + " directory with train.(csv|jsonl) and optional validation.* and test.*")
    String data;

    @Option(
            names = "--limit",
            defaultValue = "0",
            description = "use only the first N examples of each split (0 = all; for quick tries)")
    int limit;

    /**
     * Loads and splits the data.
     *
     * @param seed the split seed
     * @return the split
     * @throws IOException if the data cannot be read
     */
    Split split(long seed) throws IOException {
        Split s;
        if ("spam-assassin".equalsIgnoreCase(data)) {
            s = Split.stratified(SpamAssassin.load(MiniLm.cacheRoot()), seed);
        } else {
            Path p = Path.of(data);
            if (Files.isDirectory(p)) {
                LabeledTexts train = readPart(p, "train", true);
                LabeledTexts val = readPart(p, "validation", false);
                LabeledTexts test = readPart(p, "test", false);
                s = val == null || test == null ? Split.stratified(train, seed) : new Split(train, val, test);
            } else if (Files.isRegularFile(p)) {
                s = Split.stratified(DataFiles.read(p), seed);
            } else {
                throw new IOException(
                        "--data: '" + data + "' is neither 'spam-assassin' nor an existing file or" + " directory");
            }
        }
        if (limit > 0) {
            s = new Split(
                    s.train().head(limit), s.validation().head(limit), s.test().head(limit));
        }
        return s;
    }

    private static LabeledTexts readPart(Path dir, String name, boolean required) throws IOException {
        for (String ext : new String[] {".csv", ".jsonl"}) {
            Path f = dir.resolve(name + ext);
            if (Files.isRegularFile(f)) {
                return DataFiles.read(f);
            }
        }
        if (required) {
            throw new IOException("--data directory " + dir + " has no " + name + ".csv or " + name + ".jsonl");
        }
        return null;
    }
}
