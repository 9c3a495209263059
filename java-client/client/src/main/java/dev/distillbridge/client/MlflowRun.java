package dev.distillbridge.client;

import java.util.Objects;
import java.util.Optional;

/**
 * Where a job is recorded in MLflow, on a server started with {@code serve
 * --mlflow-tracking-uri}: its run, and once the artifact passed its gates, the registered model
 * version it became. Mirrors Python's {@code bridge.MlflowRun}.
 *
 * @param runId the MLflow run id
 * @param runUrl the run's page in the MLflow UI; empty for a tracking URI without one
 * @param experimentId the run's experiment
 * @param registeredModelName the registered model the artifact joined; empty until registered
 * @param modelVersion the new version of {@code registeredModelName}; empty until registered
 */
public record MlflowRun(String runId, String runUrl, String experimentId, String registeredModelName,
        String modelVersion) {
    /** Nulls become empty strings. */
    public MlflowRun {
        runId = Objects.requireNonNullElse(runId, "");
        runUrl = Objects.requireNonNullElse(runUrl, "");
        experimentId = Objects.requireNonNullElse(experimentId, "");
        registeredModelName = Objects.requireNonNullElse(registeredModelName, "");
        modelVersion = Objects.requireNonNullElse(modelVersion, "");
    }

    /** The registered version, once there is one. */
    public Optional<String> version() {
        return modelVersion.isEmpty() ? Optional.empty() : Optional.of(modelVersion);
    }

    static MlflowRun fromProto(dev.distillbridge.proto.v1.MlflowRun m) {
        return new MlflowRun(m.getRunId(), m.getRunUrl(), m.getExperimentId(), m.getRegisteredModelName(),
                m.getModelVersion());
    }

    /** "run ID (URL)", then ", registered as NAME version N" once registered. */
    String summary() {
        String line = "MLflow run " + runId + (runUrl.isEmpty() ? "" : " (" + runUrl + ")");
        return modelVersion.isEmpty() ? line
                : line + ", registered as " + registeredModelName + " version " + modelVersion;
    }
}
