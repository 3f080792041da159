package io.github.peft4j.train.listener;

import io.github.peft4j.train.FitContext;
import io.github.peft4j.train.FitListener;
import io.github.peft4j.train.StepRecord;
import java.time.Duration;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shows how far the run is: a progress bar (me.tongfei:progressbar) when standard error is a terminal, and a log
 * line every {@code every} steps otherwise (so redirected output gets no carriage-return updates).
 */
public final class Progress implements FitListener {

    private static final Logger LOG = LoggerFactory.getLogger(Progress.class);

    private final boolean terminal;
    private final long every;
    private ProgressBar bar;
    private long t0;

    private Progress(boolean terminal, long every) {
        this.terminal = terminal;
        this.every = every;
    }

    /**
     * A bar on a terminal, log lines about 20 times per run otherwise.
     *
     * @return the listener
     */
    public static Progress auto() {
        return new Progress(isTerminal(), 0);
    }

    /**
     * Whether standard output and error are a terminal: {@code System.console()} says so up to Java 21; from Java 22
     * on it always returns a console, and {@code Console.isTerminal()} (called reflectively, this code targets 17)
     * tells.
     */
    @SuppressWarnings("SystemConsoleNull") // handled: the reflective isTerminal() decides on Java 22+
    static boolean isTerminal() {
        java.io.Console c = System.console();
        if (c == null) {
            return false;
        }
        try {
            return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(c);
        } catch (ReflectiveOperationException olderJdk) {
            return true;
        }
    }

    /**
     * Log lines only, every {@code every} steps.
     *
     * @param every the interval (≥ 1)
     * @return the listener
     */
    public static Progress logEvery(long every) {
        if (every < 1) {
            throw new IllegalArgumentException("progress interval must be >= 1 step; got " + every);
        }
        return new Progress(false, every);
    }

    @Override
    public void onFitStart(FitContext ctx) {
        t0 = System.nanoTime();
        if (terminal) {
            bar = new ProgressBarBuilder()
                    .setTaskName("train")
                    .setInitialMax(ctx.totalSteps())
                    .setStyle(ProgressBarStyle.ASCII)
                    .setUpdateIntervalMillis(500)
                    .showSpeed()
                    .setSpeedUnit(java.time.temporal.ChronoUnit.SECONDS)
                    .startsFrom(ctx.startStep(), Duration.ZERO)
                    .build();
        }
    }

    @Override
    public void onStep(FitContext ctx, StepRecord step) {
        if (bar != null) {
            bar.stepTo(step.step());
            bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f lr %.2e", step.loss(), step.lr()));
            return;
        }
        long interval = every > 0 ? every : Math.max(1, step.total() / 20);
        if (step.step() % interval != 0 && step.step() != step.total()) {
            return;
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        double rate = (step.step() - ctx.startStep()) / Math.max(secs, 1e-9);
        long eta = (long) ((step.total() - step.step()) / Math.max(rate, 1e-9));
        LOG.info(String.format(
                Locale.ROOT,
                "step %d/%d (%.0f%%): loss %.4f, lr %.2e, %.2f steps/s, ETA %d:%02d",
                step.step(),
                step.total(),
                100.0 * step.step() / step.total(),
                step.loss(),
                step.lr(),
                rate,
                eta / 60,
                eta % 60));
    }

    @Override
    public void onFitEnd(FitContext ctx) {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
