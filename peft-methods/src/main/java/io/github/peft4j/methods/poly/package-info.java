/**
 * Poly (Polytropon, Ponti et al., 2023) and Multi-Head Routing (MHR, Caccia et al., 2023): each target linear layer
 * holds an inventory of LoRA skills, mixed per example by a learned task-to-skill router; Python PEFT's
 * {@code POLY} layout.
 */
package io.github.peft4j.methods.poly;
