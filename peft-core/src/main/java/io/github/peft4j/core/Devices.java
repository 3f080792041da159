package io.github.peft4j.core;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.Locale;

/**
 * Explicit device selection. peft4j code is device-agnostic: arrays live where the base model's weights live, and
 * users pick the device once, by name.
 */
public final class Devices {

    private Devices() {}

    /**
     * Resolves a device name.
     *
     * @param name {@code cpu}, {@code gpu}, {@code gpu:N}, or {@code null}/blank for the engine's default device
     * @return the device
     * @throws IllegalArgumentException if the name is unknown, or a GPU is asked for that the engine does not see
     */
    public static Device resolve(String name) {
        return resolve(name, Engine.getInstance().getGpuCount());
    }

    static Device resolve(String name, int gpuCount) {
        if (name == null || name.isBlank()) {
            return Engine.getInstance().defaultDevice();
        }
        String n = name.trim().toLowerCase(Locale.ROOT);
        if (n.equals("cpu")) {
            return Device.cpu();
        }
        int id;
        if (n.equals("gpu") || n.equals("cuda")) {
            id = 0;
        } else if (n.matches("(gpu|cuda):\\d+")) {
            id = Integer.parseInt(n.substring(n.indexOf(':') + 1));
        } else {
            throw new IllegalArgumentException("unknown device '" + name + "'; expected cpu, gpu or gpu:N");
        }
        if (id >= gpuCount) {
            throw new IllegalArgumentException("device '" + name + "' was requested but the PyTorch engine sees "
                    + gpuCount + " GPU(s). Use --device cpu, or build with the CUDA natives (mvn -Pcuda, see"
                    + " docs/gpu.md) on a machine with an NVIDIA driver.");
        }
        return Device.gpu(id);
    }
}
