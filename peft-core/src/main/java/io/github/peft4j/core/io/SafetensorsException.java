package io.github.peft4j.core.io;

import java.io.IOException;

/** A safetensors file that is truncated, corrupted or not of the expected layout. */
public class SafetensorsException extends IOException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what is wrong, naming the file
     */
    public SafetensorsException(String message) {
        super(message);
    }

    /**
     * Creates the exception.
     *
     * @param message what is wrong, naming the file
     * @param cause the cause
     */
    public SafetensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
