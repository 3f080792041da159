/**
 * Sparse fine-tuning (SaRA, SpIEL) and its sparse-backprop kernels. The methods land with the sparse fine-tuning
 * issue; this module is part of the published layout so that the build and the dependency coordinates are fixed.
 */
package io.github.peft4j.sparse;
