/** Runnable examples of peft4j. */
package io.github.peft4j.examples;
