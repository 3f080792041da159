package io.github.peft4j.reliability;

import java.io.File;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The class path a child JVM of this module needs. */
public final class ClassPaths {

    private ClassPaths() {}

    /**
     * This module's jar and its {@code lib/} folder, or the class path this JVM runs on (tests, IDEs).
     *
     * @return the class path
     */
    public static String ofThisModule() {
        try {
            Path self = Path.of(ClassPaths.class
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI());
            if (Files.isRegularFile(self)) {
                return self + File.pathSeparator + self.resolveSibling("lib") + File.separator + "*";
            }
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        return System.getProperty("java.class.path");
    }
}
