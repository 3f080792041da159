package io.github.peft4j.fuzz;

/** An input a parser handled badly: an unclear rejection, an unexpected exception, or too much memory. */
public final class FuzzFinding extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates a finding.
     *
     * @param message what went wrong
     * @param cause the exception the parser threw, or null
     */
    public FuzzFinding(String message, Throwable cause) {
        super(message, cause);
    }
}
