package io.github.peft4j.spark;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.List;
import org.apache.spark.BarrierTaskContext;

/**
 * Averages through {@link BarrierTaskContext#allGather}: every replica sends its values (Base64 text) to the driver,
 * which returns all of them to every replica; each sums them in rank order, so all replicas hold the same sums. The
 * driver relays N² messages per step and every reply must fit {@code spark.rpc.message.maxSize}; Spark's barrier
 * calls poll for the reply once a second, so each average takes about a second. For executors that cannot open
 * connections to each other ({@link Transport#AUTO}'s fallback).
 */
final class AllGatherExchange extends Exchange {

    private final long maxMessageBytes;

    AllGatherExchange(BarrierTaskContext ctx, long maxMessageBytes) {
        super(ctx);
        this.maxMessageBytes = maxMessageBytes;
    }

    /** The Base64 length of a replica's message of {@code floats} values. */
    static long encodedBytes(long floats) {
        return 4 * ((floats * Float.BYTES + 2) / 3);
    }

    /** The size of the reply every replica receives: all replicas' messages. */
    static long replyBytes(long floats, int replicas) {
        return encodedBytes(floats) * replicas;
    }

    @Override
    String name() {
        return "all-gather";
    }

    @Override
    void reduce(List<ByteBuffer> buffers) {
        long floats = floats(buffers);
        long encoded = encodedBytes(floats);
        if (replyBytes(floats, worldSize()) > maxMessageBytes) {
            throw new IllegalStateException(String.format(
                    "all-gather of %,d values from %d replicas needs replies of %,d bytes, over"
                            + " spark.rpc.message.maxSize (%,d bytes): use the ring transport, or raise the limit",
                    floats, worldSize(), encoded * worldSize(), maxMessageBytes));
        }
        ByteBuffer mine = ByteBuffer.allocate((int) (floats * Float.BYTES)).order(ByteOrder.LITTLE_ENDIAN);
        for (ByteBuffer b : buffers) {
            ByteBuffer v = b.duplicate().order(b.order());
            for (int i = 0; i < v.limit(); i += Float.BYTES) {
                mine.putFloat(v.getFloat(i));
            }
        }
        String[] all = context().allGather(Base64.getEncoder().encodeToString(mine.array()));
        float[] sum = new float[(int) floats];
        long received = 0;
        for (String s : all) {
            ByteBuffer r = ByteBuffer.wrap(Base64.getDecoder().decode(s)).order(ByteOrder.LITTLE_ENDIAN);
            if (r.limit() != sum.length * Float.BYTES) {
                throw new IllegalStateException("a replica sent " + r.limit() / Float.BYTES + " values, this one "
                        + sum.length + ": the replicas do not train the same parameters");
            }
            for (int i = 0; i < sum.length; i++) {
                sum[i] += r.getFloat(i * Float.BYTES);
            }
            received += s.length();
        }
        int k = 0;
        for (ByteBuffer b : buffers) {
            ByteBuffer v = b.duplicate().order(b.order());
            for (int i = 0; i < v.limit(); i += Float.BYTES) {
                v.putFloat(i, sum[k++]);
            }
        }
        divide(buffers);
        counted(encoded, received);
    }
}
