package io.github.peft4j.spark;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.spark.BarrierTaskContext;

/**
 * Averages by a ring all-reduce over TCP between the barrier tasks, as XGBoost4J-Spark's and Horovod's rings do: the
 * tasks exchange addresses once with {@code allGather}, each connects to the next rank, and every call runs N − 1
 * reduce-scatter steps and N − 1 all-gather steps over N chunks of the values, so each replica sends and receives
 * 2 (N − 1) / N of the values whatever N is, and the driver carries nothing. The values go to and come from the
 * sockets straight from the buffers ({@code toByteBuffer(true)} views of libtorch's gradient memory); only the
 * chunk being added is received into a scratch buffer. Each chunk's sum is computed by one replica and copied to the
 * others, so every replica ends with the same bits.
 */
final class RingExchange extends Exchange {

    private final ServerSocketChannel server;
    private final SocketChannel next;
    private final SocketChannel previous;
    private final ExecutorService sender;
    private ByteBuffer scratch = ByteBuffer.allocateDirect(0);

    private RingExchange(
            BarrierTaskContext ctx, ServerSocketChannel server, SocketChannel next, SocketChannel previous) {
        super(ctx);
        int rank = ctx.partitionId();
        this.server = server;
        this.next = next;
        this.previous = previous;
        this.sender = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "peft4j-ring-sender-" + rank);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Connects this barrier task into the ring.
     *
     * @param ctx the task's barrier context
     * @return the exchange, to close when the task ends
     * @throws IOException if a neighbour cannot be reached
     */
    static RingExchange open(BarrierTaskContext ctx) throws IOException {
        return open(ctx, 0);
    }

    /**
     * Connects this barrier task into the ring, giving up after a while.
     *
     * @param ctx the task's barrier context
     * @param timeoutMillis how long to wait for a neighbour's connection (0: without limit)
     * @return the exchange, to close when the task ends
     * @throws IOException if a neighbour cannot be reached in time
     */
    static RingExchange open(BarrierTaskContext ctx, int timeoutMillis) throws IOException {
        int rank = ctx.partitionId();
        int n = ctx.getTaskInfos().length;
        String host = hostOf(ctx.getTaskInfos()[rank].address());
        ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress(host, 0), n);
        SocketChannel next = null;
        SocketChannel previous = null;
        try {
            int port = ((InetSocketAddress) server.getLocalAddress()).getPort();
            String[] all = ctx.allGather(host + ":" + port);
            if (n == 1) {
                return new RingExchange(ctx, server, null, null);
            }
            String to = all[(rank + 1) % n];
            next = SocketChannel.open();
            next.socket()
                    .connect(
                            new InetSocketAddress(hostOf(to), Integer.parseInt(to.substring(to.lastIndexOf(':') + 1))),
                            timeoutMillis);
            next.socket().setTcpNoDelay(true);
            writeFully(
                    next, new ByteBuffer[] {ByteBuffer.allocate(Integer.BYTES).putInt(0, rank)});
            server.socket().setSoTimeout(timeoutMillis);
            previous = server.socket().accept().getChannel();
            previous.socket().setTcpNoDelay(true);
            ByteBuffer who = ByteBuffer.allocate(Integer.BYTES);
            readFully(previous, new ByteBuffer[] {who});
            int expected = (rank - 1 + n) % n;
            if (who.getInt(0) != expected) {
                throw new IOException("ring: rank " + rank + " expected a connection from rank " + expected + ", got "
                        + who.getInt(0));
            }
            return new RingExchange(ctx, server, next, previous);
        } catch (IOException | RuntimeException e) {
            for (AutoCloseable c : new AutoCloseable[] {next, previous, server}) {
                closeQuietly(c);
            }
            throw e;
        }
    }

    private static String hostOf(String address) {
        int colon = address.lastIndexOf(':');
        return colon < 0 ? address : address.substring(0, colon);
    }

    @Override
    String name() {
        return "ring";
    }

    @Override
    void reduce(List<ByteBuffer> buffers) throws IOException {
        int n = worldSize();
        if (n == 1) {
            counted(0, 0);
            return;
        }
        long total = floats(buffers);
        int rank = rank();
        long sent = 0;
        long received = 0;
        for (int s = 0; s < n - 1; s++) { // reduce-scatter: rank r ends holding the sum of chunk r + 1
            int out = Math.floorMod(rank - s, n);
            int in = Math.floorMod(rank - s - 1, n);
            List<ByteBuffer> into = slices(buffers, chunkStart(in, total), chunkStart(in + 1, total));
            int bytes = (int) ((chunkStart(in + 1, total) - chunkStart(in, total)) * Float.BYTES);
            ByteBuffer tmp = scratch(bytes);
            sent += exchange(
                    slices(buffers, chunkStart(out, total), chunkStart(out + 1, total)), new ByteBuffer[] {tmp});
            received += bytes;
            add(into, tmp);
        }
        for (int s = 0; s < n - 1; s++) { // all-gather: the summed chunks travel round the ring
            int out = Math.floorMod(rank - s + 1, n);
            int in = Math.floorMod(rank - s, n);
            List<ByteBuffer> into = slices(buffers, chunkStart(in, total), chunkStart(in + 1, total));
            sent += exchange(
                    slices(buffers, chunkStart(out, total), chunkStart(out + 1, total)),
                    into.toArray(new ByteBuffer[0]));
            received += (chunkStart(in + 1, total) - chunkStart(in, total)) * Float.BYTES;
        }
        divide(buffers);
        counted(sent, received);
    }

    private long chunkStart(int chunk, long total) {
        return total * chunk / worldSize();
    }

    /** Sends {@code out} to the next rank while receiving {@code in} from the previous one; returns bytes sent. */
    private long exchange(List<ByteBuffer> out, ByteBuffer[] in) throws IOException {
        ByteBuffer[] src = out.toArray(new ByteBuffer[0]);
        long bytes = 0;
        for (ByteBuffer b : src) {
            bytes += b.remaining();
        }
        Future<?> sending = sender.submit(() -> {
            writeFully(next, src);
            return null;
        });
        readFully(previous, in);
        try {
            sending.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("ring: interrupted while sending to rank " + (rank() + 1) % worldSize());
        } catch (ExecutionException e) {
            throw new IOException(
                    "ring: sending to rank " + (rank() + 1) % worldSize() + " failed: "
                            + e.getCause().getMessage(),
                    e.getCause());
        }
        return bytes;
    }

    private ByteBuffer scratch(int bytes) {
        if (scratch.capacity() < bytes) {
            scratch = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
        }
        scratch.clear().limit(bytes);
        return scratch;
    }

    /** Adds the received floats to the chunk's slices. */
    private static void add(List<ByteBuffer> into, ByteBuffer received) {
        ByteBuffer r = received.duplicate().order(received.order());
        int k = 0;
        for (ByteBuffer b : into) {
            ByteBuffer v = b.duplicate().order(b.order());
            for (int i = 0; i < v.limit(); i += Float.BYTES) {
                v.putFloat(i, v.getFloat(i) + r.getFloat(k));
                k += Float.BYTES;
            }
        }
    }

    private static void writeFully(SocketChannel ch, ByteBuffer[] src) throws IOException {
        long left = 0;
        for (ByteBuffer b : src) {
            left += b.remaining();
        }
        while (left > 0) {
            left -= ch.write(src);
        }
    }

    private static void readFully(SocketChannel ch, ByteBuffer[] dst) throws IOException {
        long left = 0;
        for (ByteBuffer b : dst) {
            left += b.remaining();
        }
        while (left > 0) {
            long r = ch.read(dst);
            if (r < 0) {
                throw new EOFException("ring: the previous replica closed its connection (lost task?)");
            }
            left -= r;
        }
    }

    @Override
    public void close() {
        sender.shutdownNow();
        for (AutoCloseable c : new AutoCloseable[] {next, previous, server}) {
            closeQuietly(c);
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            if (c != null) {
                c.close();
            }
        } catch (Exception e) {
            // closing: nothing to keep
        }
    }
}
