/** The {@code peft} command line (picocli). */
package io.github.peft4j.examples.cli;
