/** JMH benchmarks of peft4j; see docs/benchmarks.md for how to run them and the recorded results. */
package io.github.peft4j.bench;
