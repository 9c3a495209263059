package dev.distillbridge.spring;

import dev.distillbridge.client.DistillException;
import dev.distillbridge.spring.ModelUpdater.DistillRequest;
import dev.distillbridge.spring.ModelUpdater.Update;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.actuate.endpoint.Access;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;
import org.springframework.boot.actuate.endpoint.web.annotation.WebEndpoint;
import org.springframework.lang.Nullable;

/**
 * The admin hot-swap as actuator endpoint {@code distillbridge}, off by default. Turn it on
 * with {@code management.endpoint.distillbridge.access=unrestricted} and
 * {@code management.endpoints.web.exposure.include=health,distillbridge}, and give the actuator
 * its own port ({@code management.server.port}): without one the application refuses to start
 * (unless {@code distillbridge.admin.allow-application-port=true}). Keep that port internal and
 * protect the endpoint, e.g. with a Spring Security {@code SecurityFilterChain} for
 * {@code EndpointRequest.to(DistillBridgeEndpoint.class)} (the Spring Boot example has one).
 *
 * <ul>
 *   <li>{@code GET /actuator/distillbridge}: the model being served;</li>
 *   <li>{@code POST /actuator/distillbridge} with {@code {"teacher": ..., "dataset": ...,
 *       "hiddenSizes": "64,32", "int8": .., "epochs": .., "batchSize": .., "learningRate": ..,
 *       "seed": ..}}: distills a new model and swaps it in once it passes (202 with the update).
 *       The actuator reads a body of flat values, so a list is comma-separated text;</li>
 *   <li>{@code GET /actuator/distillbridge/{jobId}}: where that update stands.</li>
 * </ul>
 */
@WebEndpoint(id = "distillbridge", defaultAccess = Access.NONE)
public class DistillBridgeEndpoint {
    private final ModelUpdater updater;
    private final LiveModel model;

    /** Reports on {@code model}, updates it with {@code updater}. */
    public DistillBridgeEndpoint(ModelUpdater updater, LiveModel model) {
        this.updater = updater;
        this.model = model;
    }

    /** The model being served: its id (job id), precision, modality, input shape and labels. */
    @ReadOperation
    public Map<String, Object> model() {
        return model.apply(m -> {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("modelId", m.manifest().jobId());
            out.put("precision", m.precision().name());
            out.put("modality", m.manifest().modality());
            out.put("inputShape", Arrays.stream(m.inputShape()).boxed().toList());
            out.put("labels", m.labels());
            return out;
        });
    }

    /** Where an update started here stands; 404 for an unknown job id. */
    @ReadOperation
    public WebEndpointResponse<Update> update(@Selector String jobId) {
        return updater.update(jobId).map(WebEndpointResponse::new)
                .orElseGet(() -> new WebEndpointResponse<>(WebEndpointResponse.STATUS_NOT_FOUND));
    }

    /**
     * Starts a distillation (an MLP student of {@code hiddenSizes}) that replaces the served
     * model once it passes: 202 with the update once the server accepted the job; the server's
     * refusal as 4xx/5xx with its reason otherwise.
     */
    @WriteOperation
    public WebEndpointResponse<Object> distill(String teacher, String dataset, @Nullable String hiddenSizes,
            @Nullable Boolean int8, @Nullable Integer epochs, @Nullable Integer batchSize,
            @Nullable Double learningRate, @Nullable Long seed) {
        try {
            DistillRequest request = new DistillRequest(teacher, dataset, widths(hiddenSizes),
                    Boolean.TRUE.equals(int8), epochs, batchSize, learningRate, seed);
            return new WebEndpointResponse<>(updater.start(request), 202);
        } catch (DistillException e) {
            return refusal(e);
        } catch (IllegalArgumentException | IllegalStateException e) {
            return new WebEndpointResponse<>(Map.of("status", 400, "detail", String.valueOf(e.getMessage())), 400);
        }
    }

    /** "64,32" -> [64, 32]; null or blank -> none. */
    private static List<Integer> widths(String hiddenSizes) {
        if (hiddenSizes == null || hiddenSizes.isBlank()) {
            return List.of();
        }
        try {
            return Arrays.stream(hiddenSizes.split(",")).map(String::strip).map(Integer::valueOf).toList();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("hiddenSizes: expected comma-separated integers, got '" + hiddenSizes
                    + "'", e);
        }
    }

    private static WebEndpointResponse<Object> refusal(DistillException e) {
        int status = httpStatus(e);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", status);
        body.put("detail", e.getMessage());
        body.put("grpcStatus", e.getStatusCode().name());
        e.getJobId().ifPresent(id -> body.put("jobId", id));
        return new WebEndpointResponse<>(body, status);
    }

    /** The HTTP status closest to a gRPC one. */
    static int httpStatus(DistillException e) {
        return switch (e.getStatusCode()) {
            case INVALID_ARGUMENT, OUT_OF_RANGE, FAILED_PRECONDITION -> 400;
            case NOT_FOUND -> 404;
            case UNAUTHENTICATED, PERMISSION_DENIED -> 502; // our credentials, not the caller's
            case RESOURCE_EXHAUSTED -> 429;
            case UNAVAILABLE -> 503;
            case DEADLINE_EXCEEDED -> 504;
            default -> 500;
        };
    }
}
