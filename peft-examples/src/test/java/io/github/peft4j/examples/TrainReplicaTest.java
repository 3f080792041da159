package io.github.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.peft4j.examples.cli.TrainCommand;
import io.github.peft4j.train.DataParallel;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code peft train} as a data-parallel replica refuses, before loading anything, what replicas cannot train together,
 * and throws (rather than printing) so that the task that runs it fails with the message.
 */
class TrainReplicaTest {

    /** One of two replicas whose transport must not be reached. */
    private static final DataParallel UNREACHED = new DataParallel() {
        @Override
        public int rank() {
            return 1;
        }

        @Override
        public int worldSize() {
            return 2;
        }

        @Override
        public void allReduceMean(List<ByteBuffer> buffers) {
            throw new AssertionError("a refused run reached the transport");
        }

        @Override
        public void barrier() {
            throw new AssertionError("a refused run reached the transport");
        }
    };

    private static String refused(Path out, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of(
                "--model",
                out.resolve("no-model").toString(),
                "--data",
                out.resolve("no-data.csv").toString(),
                "--output",
                out.resolve("run").toString()));
        a.addAll(List.of(extra));
        CommandLine.ParameterException e = assertThrows(
                CommandLine.ParameterException.class,
                () -> TrainCommand.runReplica(a.toArray(String[]::new), UNREACHED));
        return e.getMessage();
    }

    @Test
    void sparseMethodsPromptLearningAndUnevenBatchesAreRefused(@TempDir Path tmp) {
        String sara = refused(tmp, "--method", "sara");
        assertTrue(sara.contains("--method sara keeps its gradients in sparse buffers"), sara);
        String prompt = refused(tmp, "--task", "causal-lm", "--method", "prompt");
        assertTrue(prompt.contains("--method prompt runs on one process"), prompt);
        String batch = refused(tmp, "--batch-size", "15");
        assertTrue(
                batch.contains("--batch-size 15 is the global batch of 2 replicas and must be a multiple of 2"), batch);
    }

    @Test
    void badArgumentsThrowInsteadOfPrinting(@TempDir Path tmp) {
        String unknown = refused(tmp, "--no-such-option");
        assertTrue(unknown.contains("--no-such-option"), unknown);
    }
}
