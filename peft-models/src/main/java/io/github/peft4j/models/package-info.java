/**
 * Model families that host Hugging Face weights in DJL, with Hugging Face module names so adapter keys match
 * Python's: building blocks here, families in sub-packages ({@link io.github.peft4j.models.bert}).
 */
package io.github.peft4j.models;
