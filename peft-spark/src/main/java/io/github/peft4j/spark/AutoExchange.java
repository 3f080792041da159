package io.github.peft4j.spark;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import org.apache.spark.BarrierTaskContext;

/**
 * {@link Transport#AUTO}: on the first average, when the size of the values is known, every replica makes the same
 * choice: {@link AllGatherExchange} for up to {@link Transport#AUTO_ALL_GATHER_MAX} replicas whose replies fit
 * {@code spark.rpc.message.maxSize}, otherwise {@link RingExchange}.
 */
final class AutoExchange extends Exchange {

    private final long maxMessageBytes;
    private Exchange chosen;

    AutoExchange(BarrierTaskContext ctx, long maxMessageBytes) {
        super(ctx);
        this.maxMessageBytes = maxMessageBytes;
    }

    /** The transport chosen, or null before the first average. */
    Exchange chosen() {
        return chosen;
    }

    @Override
    String name() {
        return chosen == null ? "auto" : chosen.name();
    }

    @Override
    void reduce(List<ByteBuffer> buffers) throws IOException {
        if (chosen == null) {
            boolean fits = AllGatherExchange.replyBytes(floats(buffers), worldSize()) <= maxMessageBytes;
            chosen = worldSize() <= Transport.AUTO_ALL_GATHER_MAX && fits
                    ? new AllGatherExchange(context(), maxMessageBytes)
                    : RingExchange.open(context());
        }
        long sent = chosen.bytesSent();
        long received = chosen.bytesReceived();
        chosen.reduce(buffers);
        counted(chosen.bytesSent() - sent, chosen.bytesReceived() - received);
    }

    @Override
    public void close() {
        if (chosen != null) {
            chosen.close();
        }
    }
}
