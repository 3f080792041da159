package io.github.peft4j.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The merge functions on hand-worked examples (the values follow Python PEFT's merge_utils by hand). */
class TaskTensorsTest {

    @Test
    void magnitudePruneKeepsTheLargestFloorOfDensityTimesN() {
        double[] t = {0.1, -3, 2, -0.5, 4, 0};
        // ⌊0.5 · 6⌋ = 3 largest magnitudes: 4, -3, 2
        assertArrayEquals(new double[] {0, -3, 2, 0, 4, 0}, TaskTensors.magnitudePrune(t, 0.5), 0);
        assertArrayEquals(new double[6], TaskTensors.magnitudePrune(t, 0.1), 0); // ⌊0.6⌋ = 0
        assertArrayEquals(t, TaskTensors.magnitudePrune(t, 1), 0);
        // a tie at the threshold keeps the lower index
        assertArrayEquals(new double[] {2, 0, 0}, TaskTensors.magnitudePrune(new double[] {2, -2, 1}, 0.34), 0);
        assertThrows(IllegalArgumentException.class, () -> TaskTensors.magnitudePrune(t, -0.1));
    }

    @Test
    void tiesElectsTheSignAndAveragesTheAgreeingEntries() {
        double[][] t = {{1, -2, 3}, {-3, -1, 1}};
        double[] w = {1, 0.5};
        // total: sums 1-3 = -2 (−), -3 (−), 4 (+); kept: entry 0 only task 1 (-3·0.5), entry 1 both, entry 2 both
        double[] total = TaskTensors.ties(t, w, 1, MajoritySign.TOTAL);
        assertArrayEquals(new double[] {-1.5, (-2 - 0.5) / 2, (3 + 0.5) / 2}, total, 1e-12);
        // frequency: entry 0 has one + and one −: sum of signs 0 ≥ 0 elects +
        double[] freq = TaskTensors.ties(t, w, 1, MajoritySign.FREQUENCY);
        assertEquals(1, freq[0], 1e-12);
    }

    @Test
    void dareKeepsAboutDensityAndRescales() {
        double[] t = new double[100_000];
        java.util.Arrays.fill(t, 2.0);
        double[] p = TaskTensors.randomPrune(t, 0.3, true, new SplittableRandom(7));
        int kept = 0;
        double sum = 0;
        for (double v : p) {
            if (v != 0) {
                kept++;
                assertEquals(2.0 / 0.3, v, 1e-12);
            }
            sum += v;
        }
        // binomial(1e5, 0.3): sd 145; 5 sd
        assertEquals(30_000, kept, 725);
        assertEquals(200_000, sum, 725 * 2 / 0.3); // rescaling keeps the expected sum
        assertArrayEquals(p, TaskTensors.randomPrune(t, 0.3, true, new SplittableRandom(7)), 0, "seeded: same mask");
    }

    @Test
    void taskArithmeticIsTheWeightedSum() {
        assertArrayEquals(
                new double[] {0.5, 6},
                TaskTensors.taskArithmetic(new double[][] {{1, 2}, {3, -4}}, new double[] {2, -0.5}),
                1e-12);
        assertThrows(
                IllegalArgumentException.class,
                () -> TaskTensors.taskArithmetic(new double[][] {{1}, {2}}, new double[] {1}));
    }
}
