package dev.distillbridge.client;

/**
 * A teacher in the server's model zoo.
 *
 * @param name zoo name to pass to {@link Distiller#setTeacherModel(String)}
 * @param description one line for humans
 * @param architecture "mlp", "cnn" or "transformer"
 * @param dataset the built-in dataset it was trained on
 * @param parameters parameter count
 * @param cached true once trained and cached on the server
 */
public record TeacherInfo(
        String name, String description, String architecture, String dataset, long parameters, boolean cached) {

    static TeacherInfo fromProto(dev.distillbridge.proto.v1.TeacherInfo t) {
        return new TeacherInfo(t.getName(), t.getDescription(), t.getArchitecture(), t.getDataset(),
                t.getParameters(), t.getCached());
    }
}
