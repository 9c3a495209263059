package dev.distillbridge.client.internal;

import dev.distillbridge.client.DistillException;
import dev.distillbridge.proto.v1.CancelJobRequest;
import dev.distillbridge.proto.v1.DistillSpec;
import dev.distillbridge.proto.v1.FinishedEvent;
import dev.distillbridge.proto.v1.JobEvent;
import dev.distillbridge.proto.v1.SubmitJobRequest;
import dev.distillbridge.proto.v1.UploadKind;
import io.grpc.Deadline;
import io.grpc.Status;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code SubmitJob}, then {@code WatchJob} until the FinishedEvent; {@code SubmitJob} with
 * {@code validate_only} to check a spec.
 */
public final class GrpcJobRunner implements JobRunner {
    private static final Logger LOG = Logger.getLogger(GrpcJobRunner.class.getName());

    private final Rpc rpc;

    public GrpcJobRunner(Rpc rpc) {
        this.rpc = rpc;
    }

    @Override
    public String submit(DistillSpec spec, LocalFiles files, Deadline deadline) {
        SubmitJobRequest request = SubmitJobRequest.newBuilder().setSpec(uploaded(spec, files, deadline)).build();
        return rpc.unary(null, deadline, stub -> stub.submitJob(request)).getJobId();
    }

    @Override
    public DistillSpec validate(DistillSpec spec, LocalFiles files, Deadline deadline) {
        SubmitJobRequest request = SubmitJobRequest.newBuilder()
                .setSpec(uploaded(spec, files, deadline))
                .setValidateOnly(true)
                .build();
        return rpc.unary(null, deadline, stub -> stub.submitJob(request)).getSpec();
    }

    /** Uploads the local files and returns the spec that refers to them by upload id. */
    private DistillSpec uploaded(DistillSpec spec, LocalFiles files, Deadline deadline) {
        DistillSpec.Builder out = spec.toBuilder();
        if (files.teacher() != null) {
            String id = Uploader.upload(rpc, UploadKind.UPLOAD_KIND_MODEL, files.teacher(), deadline);
            out.setTeacher(spec.getTeacher().toBuilder().setUploadId(id));
        }
        if (files.dataset() != null) {
            String id = Uploader.upload(rpc, UploadKind.UPLOAD_KIND_DATASET, files.dataset(), deadline);
            out.setDataset(spec.getDataset().toBuilder().setUploadId(id));
        }
        return out.build();
    }

    @Override
    public FinishedEvent watch(String jobId, Deadline deadline, Consumer<JobEvent> onEvent) {
        return new JobWatcher(rpc, jobId, deadline, onEvent).await();
    }

    @Override
    public ArtifactSource artifacts(String jobId) {
        return new ArtifactDownloader(rpc, jobId);
    }

    @Override
    public void cancel(String jobId) {
        try {
            rpc.unary(jobId, stub -> stub.cancelJob(CancelJobRequest.newBuilder().setJobId(jobId).build()));
        } catch (DistillException e) {
            if (e.getStatusCode() != Status.Code.FAILED_PRECONDITION) {
                LOG.log(Level.WARNING, "could not cancel job " + jobId, e);
            }
        }
    }
}
