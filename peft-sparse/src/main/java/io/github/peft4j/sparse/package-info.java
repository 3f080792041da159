/**
 * Sparse fine-tuning: what SaRA ({@code sara}) and SpIEL ({@code spiel}) share ({@link
 * io.github.peft4j.sparse.SparseLayer},
 * {@link io.github.peft4j.sparse.GradientMode}, the configs' builder) and the sparse-backprop kernels
 * ({@code kernels}).
 */
package io.github.peft4j.sparse;
