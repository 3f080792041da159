package io.github.peft4j.reliability;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The seeded smoke version of {@link KillTrials}: a few kills of {@code peft train}, each checked. */
class KillTrialsTest {

    @TempDir
    Path tmp;

    @Test
    void killedRunsLeaveNothingHalfWrittenAndResumeToTheUninterruptedAdapter() throws Exception {
        List<KillTrials.Trial> trials = KillTrials.run(tmp, 4, 7);
        for (KillTrials.Trial t : trials) {
            assertTrue(t.ok(), "kill at " + t.killAfterMs() + " ms: " + t.detail());
        }
    }
}
