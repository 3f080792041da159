/**
 * SSF (scaling and shifting features): {@link io.github.peft4j.ssf.SsfConfig}, {@link io.github.peft4j.ssf.SsfLayer}
 * and {@link io.github.peft4j.ssf.SsfMethod}.
 */
package io.github.peft4j.ssf;
