/**
 * Bottleneck adapters (Houlsby et al., 2019; Pfeiffer et al., 2021): a small down-projection, nonlinearity and
 * up-projection added to the output of a sublayer; peft4j's own file layout (Python PEFT has no bottleneck adapters).
 */
package io.github.peft4j.methods.bottleneck;
