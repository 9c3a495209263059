package dev.distillbridge.inference;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.List;

/** Typed reads from manifest.json that fail with an {@link ModelException} ({@code MANIFEST_INVALID}) naming the key. */
final class ManifestJson {
    static final String FILE = "manifest.json";

    private ManifestJson() {
    }

    static JsonObject object(JsonObject parent, String key, String path) {
        JsonElement e = parent.get(key);
        if (e == null || !e.isJsonObject()) {
            throw invalid(path, "an object");
        }
        return e.getAsJsonObject();
    }

    /** The object under key, or null when the key is absent or JSON null. */
    static JsonObject optionalObject(JsonObject parent, String key, String path) {
        JsonElement e = parent.get(key);
        return e == null || e.isJsonNull() ? null : object(parent, key, path);
    }

    static String string(JsonObject parent, String key, String path) {
        String value = optionalString(parent, key, path);
        if (value == null) {
            throw invalid(path, "a string");
        }
        return value;
    }

    static String optionalString(JsonObject parent, String key, String path) {
        JsonElement e = parent.get(key);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw invalid(path, "a string");
        }
        return e.getAsString();
    }

    static boolean bool(JsonObject parent, String key, String path) {
        JsonElement e = parent.get(key);
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
            throw invalid(path, "a boolean");
        }
        return e.getAsBoolean();
    }

    static double number(JsonObject parent, String key, String path) {
        JsonElement e = parent.get(key);
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw invalid(path, "a number");
        }
        return e.getAsDouble();
    }

    static JsonArray array(JsonObject parent, String key, String path) {
        JsonElement e = parent.get(key);
        if (e == null || !e.isJsonArray()) {
            throw invalid(path, "an array");
        }
        return e.getAsJsonArray();
    }

    static long[] longs(JsonObject parent, String key, String path) {
        JsonArray array = array(parent, key, path);
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = numberAt(array, i, path).longValue();
        }
        return out;
    }

    static List<String> strings(JsonObject parent, String key, String path) {
        JsonArray array = array(parent, key, path);
        List<String> out = new ArrayList<>(array.size());
        for (int i = 0; i < array.size(); i++) {
            JsonElement e = array.get(i);
            if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
                throw invalid(path + "[" + i + "]", "a string");
            }
            out.add(e.getAsString());
        }
        return List.copyOf(out);
    }

    static float[] floats(JsonObject parent, String key, String path) {
        JsonArray array = array(parent, key, path);
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = numberAt(array, i, path).floatValue();
        }
        return out;
    }

    static ModelException invalid(String path, String expected) {
        return new ModelException(ModelException.Code.MANIFEST_INVALID, FILE, FILE + ": '" + path + "' is missing or not " + expected);
    }

    private static Number numberAt(JsonArray array, int i, String path) {
        JsonElement e = array.get(i);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw invalid(path + "[" + i + "]", "a number");
        }
        return e.getAsNumber();
    }
}
