package io.github.peft4j.spark;

import java.util.Locale;

/**
 * What one replica of a {@link SparkFineTuner} run reports to the driver.
 *
 * @param rank the replica's rank
 * @param summary what the {@link ReplicaJob} returned
 * @param steps the optimizer steps it averaged gradients for (in the attempt that ended the run)
 * @param bytesSent bytes it sent to average them
 * @param bytesReceived bytes it received
 * @param secondsPerStep the mean time of a step from the first average to the last (steady state: model loading and
 *     the first step excluded), or 0 with fewer than two steps
 * @param exchangeSecondsPerStep the mean time of a step spent averaging
 */
public record ReplicaReport(
        int rank,
        String summary,
        long steps,
        long bytesSent,
        long bytesReceived,
        double secondsPerStep,
        double exchangeSecondsPerStep) {

    static ReplicaReport of(Exchange e, String summary) {
        long steps = e.calls();
        return new ReplicaReport(
                e.rank(),
                summary == null ? "" : summary,
                steps,
                e.bytesSent(),
                e.bytesReceived(),
                steps < 2 ? 0 : e.spanNanos() / 1e9 / (steps - 1),
                steps == 0 ? 0 : e.exchangeNanos() / 1e9 / steps);
    }

    /** One line: the fields separated by tabs, the summary last (it may hold anything but a line break). */
    String encode() {
        return String.format(
                Locale.ROOT,
                "%d\t%d\t%d\t%d\t%s\t%s\t%s",
                rank,
                steps,
                bytesSent,
                bytesReceived,
                Double.toString(secondsPerStep),
                Double.toString(exchangeSecondsPerStep),
                summary.replace('\n', ' '));
    }

    static ReplicaReport decode(String line) {
        String[] f = line.split("\t", 7);
        return new ReplicaReport(
                Integer.parseInt(f[0]),
                f[6],
                Long.parseLong(f[1]),
                Long.parseLong(f[2]),
                Long.parseLong(f[3]),
                Double.parseDouble(f[4]),
                Double.parseDouble(f[5]));
    }
}
