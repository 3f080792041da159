/**
 * LoHa (Hyeon-Woo et al., 2022, FedPara; LyCORIS): a weight update that is the Hadamard product of two low-rank
 * products, with Python PEFT's config keys and tensor names.
 */
package io.github.peft4j.methods.loha;
