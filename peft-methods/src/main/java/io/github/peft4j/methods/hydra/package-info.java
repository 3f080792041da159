/**
 * Hydra (Kim et al., 2024): a parallel and a sequential low-rank branch on each linear layer; peft4j's own file layout
 * (Python PEFT has no Hydra).
 */
package io.github.peft4j.methods.hydra;
