/**
 * VeRA (Kopiczko et al., 2024): one pair of frozen random matrices shared by every target layer, and two trained
 * scaling vectors per layer.
 */
package io.github.peft4j.methods.vera;
