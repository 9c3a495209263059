package dev.distillbridge.client;

/** Lifecycle state of a distillation job on the server. */
public enum JobState {
    /** The server sent a state this client does not know. */
    UNSPECIFIED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    FAILED,
    CANCELLED;

    /** True for {@link #SUCCEEDED}, {@link #FAILED} and {@link #CANCELLED}. */
    public boolean isTerminal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }

    static JobState fromProto(dev.distillbridge.proto.v1.JobState state) {
        switch (state) {
            case JOB_STATE_QUEUED:
                return QUEUED;
            case JOB_STATE_RUNNING:
                return RUNNING;
            case JOB_STATE_SUCCEEDED:
                return SUCCEEDED;
            case JOB_STATE_FAILED:
                return FAILED;
            case JOB_STATE_CANCELLED:
                return CANCELLED;
            default:
                return UNSPECIFIED;
        }
    }

    dev.distillbridge.proto.v1.JobState toProto() {
        switch (this) {
            case QUEUED:
                return dev.distillbridge.proto.v1.JobState.JOB_STATE_QUEUED;
            case RUNNING:
                return dev.distillbridge.proto.v1.JobState.JOB_STATE_RUNNING;
            case SUCCEEDED:
                return dev.distillbridge.proto.v1.JobState.JOB_STATE_SUCCEEDED;
            case FAILED:
                return dev.distillbridge.proto.v1.JobState.JOB_STATE_FAILED;
            case CANCELLED:
                return dev.distillbridge.proto.v1.JobState.JOB_STATE_CANCELLED;
            default:
                return dev.distillbridge.proto.v1.JobState.JOB_STATE_UNSPECIFIED;
        }
    }
}
