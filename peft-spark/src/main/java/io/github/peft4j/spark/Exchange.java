package io.github.peft4j.spark;

import io.github.peft4j.train.DataParallel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.BarrierTaskContext;

/**
 * A data-parallel transport between the barrier tasks of one stage, with the bytes it moved: the part of
 * {@link AllGatherExchange} and {@link RingExchange} that does not depend on how the bytes travel.
 */
abstract class Exchange implements DataParallel, AutoCloseable {

    private final BarrierTaskContext ctx;
    private final int rank;
    private final int worldSize;
    private long bytesSent;
    private long bytesReceived;
    private long calls;
    private long lastStart;
    private final List<Long> stepNanos = new ArrayList<>();
    private final List<Long> callNanos = new ArrayList<>();

    Exchange(BarrierTaskContext ctx) {
        this.ctx = ctx;
        this.rank = ctx.partitionId();
        this.worldSize = ctx.getTaskInfos().length;
    }

    /** The barrier task's context. */
    final BarrierTaskContext context() {
        return ctx;
    }

    @Override
    public final void barrier() {
        ctx.barrier();
    }

    @Override
    public final int rank() {
        return rank;
    }

    @Override
    public final int worldSize() {
        return worldSize;
    }

    /** Bytes this replica has sent. */
    final long bytesSent() {
        return bytesSent;
    }

    /** Bytes this replica has received. */
    final long bytesReceived() {
        return bytesReceived;
    }

    /** Calls of {@link #allReduceMean} so far. */
    final long calls() {
        return calls;
    }

    /** The duration of every call. */
    final List<Long> callNanos() {
        return callNanos;
    }

    /** The times between the starts of consecutive calls: one per optimizer step after the first. */
    final List<Long> stepNanos() {
        return stepNanos;
    }

    @Override
    public final void allReduceMean(List<ByteBuffer> buffers) throws IOException {
        long t0 = System.nanoTime();
        if (calls > 0) {
            stepNanos.add(t0 - lastStart);
        }
        lastStart = t0;
        reduce(buffers);
        callNanos.add(System.nanoTime() - t0);
        calls++;
    }

    /**
     * Replaces the values with their mean over the replicas ({@link #allReduceMean}), counting the bytes moved with
     * {@link #counted}.
     */
    abstract void reduce(List<ByteBuffer> buffers) throws IOException;

    /** The transport's name in reports: {@code all-gather} or {@code ring}. */
    abstract String name();

    final void counted(long sent, long received) {
        bytesSent += sent;
        bytesReceived += received;
    }

    /** The number of floats in buffers, read from position 0 to their limits. */
    static long floats(List<ByteBuffer> buffers) {
        long n = 0;
        for (ByteBuffer b : buffers) {
            if (b.limit() % Float.BYTES != 0) {
                throw new IllegalArgumentException("a buffer of " + b.limit() + " bytes does not hold float32 values");
            }
            n += b.limit() / Float.BYTES;
        }
        return n;
    }

    /**
     * The parts of {@code buffers} that hold floats {@code [from, to)} of their concatenation, as views (no copy), in
     * the buffers' byte order.
     */
    static List<ByteBuffer> slices(List<ByteBuffer> buffers, long from, long to) {
        List<ByteBuffer> out = new ArrayList<>();
        long start = 0;
        for (ByteBuffer b : buffers) {
            long end = start + b.limit() / Float.BYTES;
            long lo = Math.max(from, start);
            long hi = Math.min(to, end);
            if (lo < hi) {
                ByteBuffer v = b.duplicate();
                v.limit((int) ((hi - start) * Float.BYTES)).position((int) ((lo - start) * Float.BYTES));
                out.add(v.slice().order(b.order()));
            }
            start = end;
        }
        return out;
    }

    /** Divides every float of the buffers by the number of replicas: the sums become means. */
    final void divide(List<ByteBuffer> buffers) {
        float n = worldSize;
        for (ByteBuffer b : buffers) {
            ByteBuffer o = b.duplicate().order(b.order());
            for (int i = 0; i < b.limit(); i += Float.BYTES) {
                o.putFloat(i, o.getFloat(i) / n);
            }
        }
    }

    @Override
    public void close() {}
}
