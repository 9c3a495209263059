package dev.distillbridge.client;

/** What a stored upload is: a teacher model or a dataset file. */
public enum UploadKind {
    /** A teacher model (.pt, .ts, .onnx, or a zipped Hugging Face directory). */
    MODEL,
    /** A dataset file (.csv, .jsonl, .npz). */
    DATASET;

    /**
     * @throws DistillException INTERNAL for a kind this client does not know (the server
     *     broke the contract: it only stores models and datasets)
     */
    static UploadKind fromProto(dev.distillbridge.proto.v1.UploadKind kind) {
        switch (kind) {
            case UPLOAD_KIND_MODEL:
                return MODEL;
            case UPLOAD_KIND_DATASET:
                return DATASET;
            default:
                throw new DistillException(io.grpc.Status.INTERNAL.withDescription(
                        "kind: the server sent upload kind " + kind + ", expected MODEL or DATASET"), null, null);
        }
    }

    dev.distillbridge.proto.v1.UploadKind toProto() {
        switch (this) {
            case MODEL:
                return dev.distillbridge.proto.v1.UploadKind.UPLOAD_KIND_MODEL;
            case DATASET:
                return dev.distillbridge.proto.v1.UploadKind.UPLOAD_KIND_DATASET;
            default:
                throw new AssertionError(this);
        }
    }
}
