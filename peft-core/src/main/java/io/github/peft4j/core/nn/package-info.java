/** Blocks and interfaces for the activation injection path. */
package io.github.peft4j.core.nn;
