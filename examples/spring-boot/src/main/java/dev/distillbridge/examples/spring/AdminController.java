package dev.distillbridge.examples.spring;

import dev.distillbridge.examples.spring.ModelUpdater.DistillRequest;
import dev.distillbridge.examples.spring.ModelUpdater.Update;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code POST /admin/distill} starts a distillation that replaces the served model once it
 * passes; {@code GET /admin/updates/{jobId}} follows it. Only when
 * {@code distillbridge.admin.enabled}: put it behind your own authentication.
 */
@RestController
@RequestMapping("/admin")
@ConditionalOnProperty(name = "distillbridge.admin.enabled", havingValue = "true")
public class AdminController {
    private final ModelUpdater updater;

    /** Starts updates with {@code updater}. */
    public AdminController(ModelUpdater updater) {
        this.updater = updater;
    }

    /** 202 with the update once the server accepted the job; 4xx/5xx with the server's reason otherwise. */
    @PostMapping("/distill")
    public ResponseEntity<Update> distill(@RequestBody DistillRequest request) {
        return ResponseEntity.status(HttpStatus.ACCEPTED).body(updater.start(request));
    }

    /** Where an update started here stands; 404 for an unknown job id. */
    @GetMapping("/updates/{jobId}")
    public ResponseEntity<Update> update(@PathVariable String jobId) {
        return ResponseEntity.of(updater.update(jobId));
    }
}
