package dev.distillbridge.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The inputs every runtime sees, written by bench/java_inference.py: {@code inputs.json} with
 * either {@code "texts"} (text task) or {@code "rows"}, {@code "width"} and {@code "x_file"}
 * (tabular task: little-endian float32, row-major).
 */
public record Inputs(List<String> texts, float[][] rows) {
    public Inputs {
        texts = texts == null ? null : List.copyOf(texts);
        if ((texts == null) == (rows == null)) {
            throw new IllegalArgumentException("inputs are either texts or float rows");
        }
    }

    public static Inputs read(Path json) {
        try {
            JsonObject o = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
            if (o.has("texts")) {
                List<String> texts = new ArrayList<>();
                o.getAsJsonArray("texts").forEach(t -> texts.add(t.getAsString()));
                return new Inputs(texts, null);
            }
            int n = o.get("rows").getAsInt();
            int width = o.get("width").getAsInt();
            ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(json.resolveSibling(o.get("x_file").getAsString())))
                    .order(ByteOrder.LITTLE_ENDIAN);
            float[][] rows = new float[n][width];
            for (float[] row : rows) {
                bytes.asFloatBuffer().get(row);
                bytes.position(bytes.position() + width * Float.BYTES);
            }
            return new Inputs(null, rows);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public boolean isText() {
        return texts != null;
    }

    public int size() {
        return isText() ? texts.size() : rows.length;
    }
}
