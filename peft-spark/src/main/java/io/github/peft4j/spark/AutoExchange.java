package io.github.peft4j.spark;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.BarrierTaskContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Transport#AUTO}: the ring ({@link RingExchange}), formed on the first average; when some replica cannot
 * reach its neighbour within {@link #CONNECT_TIMEOUT_MILLIS} (executors that may not open connections to each
 * other), every replica falls back to {@link AllGatherExchange}, which only talks to the driver. The replicas decide
 * together: each reports whether its connections stand, through {@code allGather}.
 */
final class AutoExchange extends Exchange {

    private static final Logger LOG = LoggerFactory.getLogger(AutoExchange.class);

    /** How long a replica waits for its ring neighbour before the run falls back to all-gather. */
    static final int CONNECT_TIMEOUT_MILLIS = 30_000;

    private final long maxMessageBytes;
    private Exchange chosen;
    private String fallback = "";

    AutoExchange(BarrierTaskContext ctx, long maxMessageBytes) {
        super(ctx);
        this.maxMessageBytes = maxMessageBytes;
    }

    @Override
    String name() {
        return chosen == null ? "auto" : chosen.name() + fallback;
    }

    @Override
    void reduce(List<ByteBuffer> buffers) throws IOException {
        if (chosen == null) {
            chosen = choose();
        }
        long sent = chosen.bytesSent();
        long received = chosen.bytesReceived();
        chosen.reduce(buffers);
        counted(chosen.bytesSent() - sent, chosen.bytesReceived() - received);
    }

    private Exchange choose() {
        RingExchange ring = null;
        String status = "ok";
        try {
            ring = RingExchange.open(context(), CONNECT_TIMEOUT_MILLIS);
        } catch (IOException e) {
            status = "rank " + rank() + ": " + e;
        }
        String[] all = context().allGather(status);
        List<String> failed = Arrays.stream(all).filter(s -> !s.equals("ok")).toList();
        if (failed.isEmpty()) {
            return ring;
        }
        if (ring != null) {
            ring.close();
        }
        LOG.warn("the ring could not be formed ({}); averaging through the driver (all-gather)", failed);
        fallback = " (the ring could not be formed: " + String.join("; ", failed) + ")";
        return new AllGatherExchange(context(), maxMessageBytes);
    }

    @Override
    public void close() {
        if (chosen != null) {
            chosen.close();
        }
    }
}
