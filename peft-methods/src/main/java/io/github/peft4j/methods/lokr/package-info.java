/** LoKr (LyCORIS; Python PEFT's {@code LoKrConfig}): a Kronecker product of two small factors as the weight update. */
package io.github.peft4j.methods.lokr;
