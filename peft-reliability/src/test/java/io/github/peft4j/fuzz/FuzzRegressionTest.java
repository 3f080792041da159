package io.github.peft4j.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.BeforeAll;

/**
 * Jazzer's JUnit integration over every target. In the default test run (regression mode) each method replays its
 * committed inputs, {@code FuzzRegressionTestInputs/<method>/}: the seeds ({@link Seeds#main}) and every input a
 * campaign found a problem with, kept as a regression test. With {@code JAZZER_FUZZ=1} it fuzzes the selected method
 * instead: {@code JAZZER_FUZZ=1 mvn -pl peft-reliability test -Dtest=FuzzRegressionTest#onnx}; the long campaign of
 * docs/reliability.md is {@link FuzzCampaign}.
 */
class FuzzRegressionTest {

    @BeforeAll
    static void warmUp() {
        SafetensorsTarget.fuzzerInitialize();
        ModelConfigTarget.fuzzerInitialize();
        TokenizerTarget.fuzzerInitialize();
        TokenizerConfigTarget.fuzzerInitialize();
        AdapterTarget.fuzzerInitialize();
        OnnxTarget.fuzzerInitialize();
    }

    @FuzzTest(maxDuration = "5m")
    void safetensors(byte[] data) {
        SafetensorsTarget.fuzzerTestOneInput(data);
    }

    @FuzzTest(maxDuration = "5m")
    void modelConfig(byte[] data) {
        ModelConfigTarget.fuzzerTestOneInput(data);
    }

    @FuzzTest(maxDuration = "5m")
    void tokenizer(byte[] data) {
        TokenizerTarget.fuzzerTestOneInput(data);
    }

    @FuzzTest(maxDuration = "5m")
    void tokenizerConfig(byte[] data) {
        TokenizerConfigTarget.fuzzerTestOneInput(data);
    }

    @FuzzTest(maxDuration = "5m")
    void adapter(byte[] data) {
        AdapterTarget.fuzzerTestOneInput(data);
    }

    @FuzzTest(maxDuration = "5m")
    void onnx(byte[] data) {
        OnnxTarget.fuzzerTestOneInput(data);
    }
}
