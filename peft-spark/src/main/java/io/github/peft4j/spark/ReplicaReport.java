package io.github.peft4j.spark;

import java.io.Serializable;

/**
 * What one replica of a {@link SparkFineTuner} run reports to the driver (Spark returns it serialized).
 *
 * @param rank the replica's rank
 * @param transport how it averaged: {@code all-gather} or {@code ring}
 * @param summary what the {@link ReplicaJob} returned
 * @param steps the optimizer steps it averaged gradients for (in the attempt that ended the run)
 * @param bytesSent bytes it sent to average them
 * @param bytesReceived bytes it received
 * @param medianStepSeconds the median time of a step, measured between the starts of consecutive averages (steady
 *     state: model loading and the first step excluded), or 0 with fewer than two steps
 * @param minStepSeconds the shortest step
 * @param maxStepSeconds the longest step
 * @param medianExchangeSeconds the median time of a step spent averaging (the first average, which may set up the
 *     transport, included)
 */
public record ReplicaReport(
        int rank,
        String transport,
        String summary,
        long steps,
        long bytesSent,
        long bytesReceived,
        double medianStepSeconds,
        double minStepSeconds,
        double maxStepSeconds,
        double medianExchangeSeconds)
        implements Serializable {

    private static final long serialVersionUID = 1L;

    static ReplicaReport of(Exchange e, String summary) {
        long steps = e.calls();
        double[] t = e.stepNanos().stream().mapToDouble(n -> n / 1e9).sorted().toArray();
        double[] x = e.callNanos().stream().mapToDouble(n -> n / 1e9).sorted().toArray();
        return new ReplicaReport(
                e.rank(),
                e.name(),
                summary == null ? "" : summary,
                steps,
                e.bytesSent(),
                e.bytesReceived(),
                median(t),
                t.length == 0 ? 0 : t[0],
                t.length == 0 ? 0 : t[t.length - 1],
                median(x));
    }

    private static double median(double[] sorted) {
        return sorted.length == 0 ? 0 : (sorted[(sorted.length - 1) / 2] + sorted[sorted.length / 2]) / 2;
    }
}
