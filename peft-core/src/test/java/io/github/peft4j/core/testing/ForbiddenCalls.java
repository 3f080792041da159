package io.github.peft4j.core.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

/**
 * Finds calls of DJL methods that put Java-owned memory under a libtorch tensor in a module's compiled classes.
 *
 * <p>{@code NDArray.mul(Number)} and its siblings wrap the constant in a tensor backed by a Java direct buffer that is
 * closed right after the operation, while autograd may still read it in the backward pass (see
 * {@link io.github.peft4j.core.Scalars}); {@code NDArray.set(float[])} and the other {@code set(Buffer)} overloads
 * re-point a live tensor at a Java buffer. Both corrupt results once the garbage collector frees the buffer, so peft4j
 * code must not call them. This scan reads bytecode, so it sees every call whatever the source looks like.
 */
public final class ForbiddenCalls {

    private static final Set<String> ARITHMETIC = Set.of(
            "add", "addi", "sub", "subi", "mul", "muli", "div", "divi", "pow", "powi", "rsub", "rsubi", "rdiv", "rdivi",
            "mod", "modi", "rmod", "rmodi", "rpow", "rpowi", "maximum", "minimum");

    private ForbiddenCalls() {}

    /**
     * Lists the forbidden calls in the main classes of every peft4j module on the class path: each class-path entry
     * (a {@code classes} directory or a jar, test classes excluded) that holds {@code io/github/peft4j} classes.
     *
     * @return "Class.method (line N): NDArray.name(descriptor)" entries, empty when clean
     * @throws IOException if a class cannot be read
     */
    public static List<String> inPeft4jModules() throws IOException {
        List<String> found = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path p = Path.of(entry);
            if (entry.endsWith("test-classes") || entry.endsWith("-tests.jar")) {
                continue;
            }
            if (Files.isDirectory(p)) {
                try (Stream<Path> files = Files.walk(p)) {
                    for (Path f : (Iterable<Path>) files.filter(ForbiddenCalls::isPeft4jClass)::iterator) {
                        try (InputStream in = Files.newInputStream(f)) {
                            scan(new ClassReader(in), found);
                        }
                    }
                }
            } else if (entry.endsWith(".jar") && Files.isRegularFile(p)) {
                try (JarFile jar = new JarFile(p.toFile())) {
                    for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements(); ) {
                        JarEntry je = e.nextElement();
                        if (je.getName().startsWith("io/github/peft4j/")
                                && je.getName().endsWith(".class")) {
                            try (InputStream in = jar.getInputStream(je)) {
                                scan(new ClassReader(in), found);
                            }
                        }
                    }
                }
            }
        }
        return found;
    }

    private static boolean isPeft4jClass(Path f) {
        return f.toString().endsWith(".class")
                && f.toString().replace('\\', '/').contains("/io/github/peft4j/");
    }

    private static void scan(ClassReader reader, List<String> found) {
        String cls = reader.getClassName().replace('/', '.');
        reader.accept(
                new ClassVisitor(Opcodes.ASM9) {
                    @Override
                    public MethodVisitor visitMethod(
                            int access, String name, String descriptor, String signature, String[] exceptions) {
                        String method = name;
                        return new MethodVisitor(Opcodes.ASM9) {
                            private int line;

                            @Override
                            public void visitLineNumber(int l, Label start) {
                                line = l;
                            }

                            @Override
                            public void visitMethodInsn(int opcode, String owner, String n, String desc, boolean itf) {
                                if (!owner.startsWith("ai/djl/")) {
                                    return;
                                }
                                boolean scalar = ARITHMETIC.contains(n) && desc.startsWith("(Ljava/lang/Number;)");
                                boolean javaBuffer = n.equals("set")
                                        && (desc.startsWith("(Ljava/nio/")
                                                || desc.startsWith("([")
                                                || desc.equals(
                                                        "(Lai/djl/ndarray/index/NDIndex;" + "Ljava/lang/Number;)V"));
                                if (scalar || javaBuffer) {
                                    found.add(cls + "." + method + " (line " + line + "): "
                                            + owner.substring(owner.lastIndexOf('/') + 1) + "." + n + desc);
                                }
                            }
                        };
                    }
                },
                ClassReader.SKIP_FRAMES);
    }
}
