package io.github.peft4j.models.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Recovers Hugging Face BERT weights from an ONNX export ({@code torch.onnx.export} of a {@code BertModel}).
 *
 * <p>The export keeps Hugging Face names for embeddings, biases and LayerNorms, but stores every linear weight as an
 * anonymous initializer ({@code onnx::MatMul_NNN}) of shape [in, out]. The MatMul node that consumes it names the
 * module in its output ({@code /encoder/layer.0/attention/self/query/MatMul_output_0}), so each such weight is
 * transposed to [out, in] and named {@code encoder.layer.0.attention.self.query.weight}.
 *
 * <p>Reads the protobuf with protobuf-java's {@link CodedInputStream}: ModelProto.graph (7) → GraphProto.node (1)
 * and .initializer (5); NodeProto.input (1), .output (2), .op_type (4); TensorProto.dims (1), .data_type (2),
 * .float_data (4), .name (8), .raw_data (9).
 */
public final class OnnxBertImporter {

    private static final int FLOAT = 1;

    private OnnxBertImporter() {}

    /**
     * A float tensor, row-major.
     *
     * @param shape the dimensions
     * @param data the values
     */
    public record Tensor(long[] shape, float[] data) {}

    private record Initializer(long[] dims, int type, ByteString raw, float[] floats) {}

    private record Node(String opType, List<String> inputs, List<String> outputs) {}

    /**
     * Extracts the weights with Hugging Face names and shapes.
     *
     * @param onnx the ONNX file's bytes
     * @return name to tensor, in graph order; linear weights [out, in]
     * @throws IOException if the bytes are not an ONNX model or a MatMul weight cannot be named
     */
    public static Map<String, Tensor> extractWeights(byte[] onnx) throws IOException {
        Map<String, Initializer> inits = new LinkedHashMap<>();
        List<Node> nodes = new ArrayList<>();
        CodedInputStream in = CodedInputStream.newInstance(onnx);
        in.enableAliasing(true); // sub-messages and raw data share the file's bytes instead of copying 90 MB
        in.setSizeLimit(Integer.MAX_VALUE);
        boolean graphSeen = false;
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            if (WireFormat.getTagFieldNumber(tag) == 7
                    && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                parseGraph(in.readBytes(), inits, nodes);
                graphSeen = true;
            } else {
                in.skipField(tag);
            }
        }
        if (!graphSeen || inits.isEmpty()) {
            throw new IOException("not an ONNX model with weights: no graph initializers found");
        }
        Map<String, String> matmulWeightNames = new HashMap<>();
        for (Node n : nodes) {
            if (n.opType.equals("MatMul") && n.inputs.size() == 2 && inits.containsKey(n.inputs.get(1))) {
                if (n.outputs.size() != 1) {
                    throw new IOException("MatMul node with weight '" + n.inputs.get(1) + "' has " + n.outputs.size()
                            + " outputs; expected 1");
                }
                String out = n.outputs.get(0);
                int cut = out.lastIndexOf("/MatMul");
                if (!out.startsWith("/") || cut < 0) {
                    throw new IOException("cannot name the weight '" + n.inputs.get(1) + "' of MatMul node with"
                            + " output '" + out + "' (expected /<module path>/MatMul_output_0)");
                }
                matmulWeightNames.put(n.inputs.get(1), out.substring(1, cut).replace('/', '.') + ".weight");
            }
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Initializer> e : inits.entrySet()) {
            Initializer i = e.getValue();
            if (i.type != FLOAT) {
                continue; // e.g. embeddings.position_ids (int64): a buffer, not a weight
            }
            float[] data = i.floats != null ? i.floats : floats(e.getKey(), i.raw);
            long count = elements(e.getKey(), i.dims);
            if (count != data.length) {
                throw new IOException("initializer '" + e.getKey() + "' has shape " + Arrays.toString(i.dims) + " ("
                        + count + " values) but holds " + data.length + " values: the file is corrupted");
            }
            String mm = matmulWeightNames.get(e.getKey());
            if (mm != null) {
                if (i.dims.length != 2) {
                    throw new IOException("MatMul weight '" + e.getKey() + "' is not 2-D");
                }
                out.put(mm, new Tensor(new long[] {i.dims[1], i.dims[0]}, transpose(data, (int) i.dims[0], (int)
                        i.dims[1])));
            } else if (!e.getKey().startsWith("onnx::")) {
                out.put(e.getKey(), new Tensor(i.dims, data));
            }
        }
        return out;
    }

    private static void parseGraph(ByteString graph, Map<String, Initializer> inits, List<Node> nodes)
            throws IOException {
        CodedInputStream in = graph.newCodedInput();
        in.enableAliasing(true);
        in.setSizeLimit(Integer.MAX_VALUE);
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            int field = WireFormat.getTagFieldNumber(tag);
            if (field == 1 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                nodes.add(parseNode(in.readBytes()));
            } else if (field == 5 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                parseTensor(in.readBytes(), inits);
            } else {
                in.skipField(tag);
            }
        }
    }

    private static Node parseNode(ByteString bytes) throws IOException {
        CodedInputStream in = bytes.newCodedInput();
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        String op = "";
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> inputs.add(in.readString());
                case 2 -> outputs.add(in.readString());
                case 4 -> op = in.readString();
                default -> in.skipField(tag);
            }
        }
        return new Node(op, inputs, outputs);
    }

    private static void parseTensor(ByteString bytes, Map<String, Initializer> inits) throws IOException {
        CodedInputStream in = bytes.newCodedInput();
        in.enableAliasing(true);
        in.setSizeLimit(Integer.MAX_VALUE);
        List<Long> dims = new ArrayList<>();
        int type = 0;
        String name = null;
        ByteString raw = null;
        List<Float> floats = new ArrayList<>();
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            int field = WireFormat.getTagFieldNumber(tag);
            int wire = WireFormat.getTagWireType(tag);
            if (field == 1 && wire == WireFormat.WIRETYPE_VARINT) {
                dims.add(in.readInt64());
            } else if (field == 1 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                int limit = in.pushLimit(in.readRawVarint32());
                while (in.getBytesUntilLimit() > 0) {
                    dims.add(in.readInt64());
                }
                in.popLimit(limit);
            } else if (field == 2 && wire == WireFormat.WIRETYPE_VARINT) {
                type = in.readInt32();
            } else if (field == 4 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                int limit = in.pushLimit(in.readRawVarint32());
                while (in.getBytesUntilLimit() > 0) {
                    floats.add(in.readFloat());
                }
                in.popLimit(limit);
            } else if (field == 4 && wire == WireFormat.WIRETYPE_FIXED32) {
                floats.add(in.readFloat());
            } else if (field == 8 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                name = in.readString();
            } else if (field == 9 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                raw = in.readBytes();
            } else {
                in.skipField(tag);
            }
        }
        if (name == null) {
            throw new IOException("ONNX initializer without a name");
        }
        long[] d = dims.stream().mapToLong(Long::longValue).toArray();
        float[] f = null;
        if (raw == null && !floats.isEmpty()) {
            f = new float[floats.size()];
            for (int i = 0; i < f.length; i++) {
                f[i] = floats.get(i);
            }
        }
        inits.put(name, new Initializer(d, type, raw == null ? ByteString.EMPTY : raw, f));
    }

    /** The number of values a shape holds; an IOException for a negative or overflowing one. */
    private static long elements(String name, long[] dims) throws IOException {
        long n = 1;
        for (long d : dims) {
            if (d < 0) {
                throw new IOException("initializer '" + name + "' has a negative dimension: " + Arrays.toString(dims));
            }
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new IOException(
                        "initializer '" + name + "' has a shape too large to exist: " + Arrays.toString(dims), e);
            }
        }
        return n;
    }

    private static float[] floats(String name, ByteString raw) throws IOException {
        if (raw.size() % 4 != 0) {
            throw new IOException(
                    "initializer '" + name + "' has " + raw.size() + " bytes of float data, not a" + " multiple of 4");
        }
        ByteBuffer bb = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[bb.remaining() / 4];
        bb.asFloatBuffer().get(out);
        return out;
    }

    private static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = a[r * cols + c];
            }
        }
        return t;
    }
}
