package io.github.peft4j.core.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

class JsonTest {

    @Test
    void writesLikePythonJsonDumpsWithIndent2AndSortedKeys() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("r", 8);
        o.putObject("rank_pattern");
        o.putArray("target_modules").add("query").add("value");
        o.putNull("bias");
        o.putObject("alpha_pattern").put("value", 4);
        // json.dumps(o, indent=2, sort_keys=True) in Python
        assertEquals(
                "{\n  \"alpha_pattern\": {\n    \"value\": 4\n  },\n  \"bias\": null,\n  \"r\": 8,\n"
                        + "  \"rank_pattern\": {},\n  \"target_modules\": [\n    \"query\",\n    \"value\"\n  ]\n}\n",
                Json.write(o));
    }
}
