/**
 * Fault trials of the {@code peft} command line: killed at random moments
 * ({@link io.github.peft4j.reliability.KillTrials}) and out of disk space
 * ({@link io.github.peft4j.reliability.DiskFullTrial}).
 */
package io.github.peft4j.reliability;
