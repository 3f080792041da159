package io.github.peft4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import org.junit.jupiter.api.Test;

class DevicesTest {

    @Test
    void cpuAndGpuByName() {
        assertEquals(Device.cpu(), Devices.resolve("cpu", 0));
        assertEquals(Device.gpu(1), Devices.resolve("gpu:1", 2));
        assertEquals(Device.gpu(0), Devices.resolve("GPU", 1));
    }

    @Test
    void missingGpuIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Devices.resolve("gpu", 0));
        assertTrue(
                e.getMessage().startsWith("device 'gpu' was requested but the PyTorch engine sees 0 GPU(s)."),
                e.getMessage());
    }

    @Test
    void thisMachineHasNoGpuSoAskingForOneFails() {
        // the CPU natives are on the test class path: the engine itself must refuse a GPU
        assertThrows(IllegalArgumentException.class, () -> Devices.resolve("gpu"));
        assertEquals(Device.cpu(), Devices.resolve(null));
    }

    @Test
    void unknownNameIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Devices.resolve("tpu", 0));
        assertEquals("unknown device 'tpu'; expected cpu, gpu or gpu:N", e.getMessage());
    }
}
