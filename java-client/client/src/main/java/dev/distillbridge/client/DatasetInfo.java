package dev.distillbridge.client;

import java.util.List;

/**
 * A built-in dataset the server offers.
 *
 * @param name name to pass to {@link Dataset#builtin(String)}
 * @param description one line for humans
 * @param modality "tabular", "image" or "text"
 * @param rows number of rows
 * @param inputShape shape of one sample's input
 * @param labels class labels, in index order
 * @param available false when the package that ships it is not installed on the server
 */
public record DatasetInfo(
        String name, String description, String modality, long rows, List<Long> inputShape,
        List<String> labels, boolean available) {

    public DatasetInfo {
        inputShape = List.copyOf(inputShape);
        labels = List.copyOf(labels);
    }

    static DatasetInfo fromProto(dev.distillbridge.proto.v1.DatasetInfo d) {
        return new DatasetInfo(d.getName(), d.getDescription(), d.getModality(), d.getRows(),
                d.getInputShapeList(), d.getLabelsList(), d.getAvailable());
    }
}
