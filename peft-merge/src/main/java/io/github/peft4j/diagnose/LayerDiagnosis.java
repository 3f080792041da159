package io.github.peft4j.diagnose;

/**
 * One layer's update seen through singular values: how large it is against the weight, how many directions it uses,
 * and whether the fine-tuned weight has intruder dimensions (Shuttleworth et al., 2024: top singular vectors of
 * W + ΔW that are nearly orthogonal to every singular vector of W).
 *
 * @param layer the module path
 * @param out the weight's rows
 * @param in the weight's columns
 * @param relativeNorm ‖ΔW‖_F / ‖W‖_F
 * @param effectiveRank exp(entropy of σᵢ / Σσ) of ΔW (Roy and Vetterli's effective rank): 1 for a rank-1 update, the
 *     rank for one with equal singular values
 * @param updateSpectrum the largest singular values of ΔW, descending
 * @param baseSpectrum the largest singular values of W
 * @param tunedSpectrum the largest singular values of W + ΔW
 * @param bestCosines for each of the top-k left singular vectors of W + ΔW, its largest |cosine| with any left
 *     singular vector of W
 * @param intruders how many of those are below ε
 */
public record LayerDiagnosis(
        String layer,
        int out,
        int in,
        double relativeNorm,
        double effectiveRank,
        double[] updateSpectrum,
        double[] baseSpectrum,
        double[] tunedSpectrum,
        double[] bestCosines,
        int intruders) {}
