package io.github.peft4j.train;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns SIGINT (Ctrl-C) and SIGTERM into "finish this step, write a checkpoint, then exit": a JVM shutdown hook asks
 * the loop to stop and waits, up to a grace period, until the loop says it is done. The process then exits with the
 * signal's status (130 for SIGINT, 143 for SIGTERM) and the run resumes from the checkpoint.
 */
final class GracefulStop implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(GracefulStop.class);

    private final CountDownLatch done = new CountDownLatch(1);
    private final Thread hook;
    private volatile boolean requested;

    private GracefulStop(Duration grace) {
        hook = new Thread(
                () -> {
                    requested = true;
                    LOG.warn(
                            "stop requested: finishing the current step and writing a checkpoint (waiting up to {} s)",
                            grace.toSeconds());
                    try {
                        if (!done.await(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                            LOG.error(
                                    "no checkpoint within {} s; exiting without one (the previous checkpoint,"
                                            + " if any, is"
                                            + " intact)",
                                    grace.toSeconds());
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                },
                "peft4j-graceful-stop");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /**
     * Installs the hook for the duration of a run.
     *
     * @param grace how long the process waits for the checkpoint
     * @return the handle; close it when the run ends
     */
    static GracefulStop install(Duration grace) {
        return new GracefulStop(grace);
    }

    /** Whether a signal asked the run to stop. */
    boolean requested() {
        return requested;
    }

    /** Lets a waiting shutdown proceed, and removes the hook if the JVM is not shutting down. */
    @Override
    public void close() {
        done.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running: it returns now that done is counted down
        }
    }
}
