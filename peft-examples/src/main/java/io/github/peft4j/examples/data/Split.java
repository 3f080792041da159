package io.github.peft4j.examples.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * A train / validation / test split.
 *
 * @param train training examples
 * @param validation examples for evaluation during training
 * @param test held-out examples for the final figures
 */
public record Split(LabeledTexts train, LabeledTexts validation, LabeledTexts test) {

    /**
     * Splits stratified by label: each label's examples are shuffled with the seed and cut 80/10/10 (rounding down
     * for validation and test), so every part keeps the label proportions. The same data and seed give the same
     * split on every machine.
     *
     * @param all the examples
     * @param seed the seed
     * @return the split
     */
    public static Split stratified(LabeledTexts all, long seed) {
        Map<String, List<Integer>> byLabel = new TreeMap<>();
        for (int i = 0; i < all.size(); i++) {
            byLabel.computeIfAbsent(all.labels().get(i), k -> new ArrayList<>()).add(i);
        }
        List<Integer> tr = new ArrayList<>();
        List<Integer> va = new ArrayList<>();
        List<Integer> te = new ArrayList<>();
        for (Map.Entry<String, List<Integer>> e : byLabel.entrySet()) {
            List<Integer> idx = new ArrayList<>(e.getValue());
            SplittableRandom r = new SplittableRandom(seed ^ e.getKey().hashCode());
            for (int i = idx.size() - 1; i > 0; i--) {
                int j = r.nextInt(i + 1);
                Integer t = idx.get(i);
                idx.set(i, idx.get(j));
                idx.set(j, t);
            }
            int nVal = idx.size() / 10;
            int nTest = idx.size() / 10;
            te.addAll(idx.subList(0, nTest));
            va.addAll(idx.subList(nTest, nTest + nVal));
            tr.addAll(idx.subList(nTest + nVal, idx.size()));
        }
        // interleave labels again in a seeded order
        return new Split(
                pick(all, shuffle(tr, seed + 1)), pick(all, shuffle(va, seed + 2)), pick(all, shuffle(te, seed + 3)));
    }

    private static List<Integer> shuffle(List<Integer> l, long seed) {
        List<Integer> idx = new ArrayList<>(l);
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = idx.size() - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            Integer t = idx.get(i);
            idx.set(i, idx.get(j));
            idx.set(j, t);
        }
        return idx;
    }

    private static LabeledTexts pick(LabeledTexts all, List<Integer> idx) {
        List<String> t = new ArrayList<>();
        List<String> l = new ArrayList<>();
        List<Integer> k = new ArrayList<>();
        for (int i : idx) {
            t.add(all.texts().get(i));
            l.add(all.labels().get(i));
            if (!all.tasks().isEmpty()) {
                k.add(all.tasks().get(i));
            }
        }
        return new LabeledTexts(t, l, k);
    }
}
