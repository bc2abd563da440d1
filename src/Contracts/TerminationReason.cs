using System.Text.Json.Serialization;

namespace TrainingService.Contracts;

/// <summary>
/// Why an attempt (and, for its last attempt, the job) ended: one documented enum, so a pipeline
/// or a person tells a preempted worker from a bad learning rate without reading logs. Stored
/// with each attempt; the job's <c>terminationReason</c> is its final attempt's (or, for a job that
/// never started, why it never did).
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<TerminationReason>))]
public enum TerminationReason
{
    /// <summary>It ran to the end.</summary>
    [JsonStringEnumMemberName("succeeded")] Succeeded,
    /// <summary>Someone cancelled it (before it started, or at a step boundary while it ran).</summary>
    [JsonStringEnumMemberName("cancelled")] Cancelled,
    /// <summary>
    /// A sweep's early-stopping rule (ASHA or the median rule) stopped this trial: its metric lagged the
    /// other trials'. Ended like a cancel, at a step boundary, keeping its checkpoints and metrics; not a
    /// failure, and not someone's cancel. <c>GET /sweeps/{id}</c> says at which epoch and why.
    /// </summary>
    [JsonStringEnumMemberName("stopped-by-search")] StoppedBySearch,
    /// <summary>The worker stopped (SIGTERM, a scale-down) and handed the job back to the queue after checkpointing: not a failure.</summary>
    [JsonStringEnumMemberName("shutdown-handback")] ShutdownHandback,
    /// <summary>The worker stopped sending heartbeats (killed, crashed, preempted, frozen past its lease); the reaper took the job back.</summary>
    [JsonStringEnumMemberName("worker-lost")] WorkerLost,
    /// <summary>The machinery failed (database, disk, the checkpoint volume full or read-only, an unexpected exception): retried.</summary>
    [JsonStringEnumMemberName("infrastructure-error")] InfrastructureError,
    /// <summary>The job's own inputs make it fail (an unreadable eval source, invalid hyperparameters): not retried.</summary>
    [JsonStringEnumMemberName("user-error")] UserError,
    /// <summary>The loss became NaN or infinite: the hyperparameters diverge. Not retried.</summary>
    [JsonStringEnumMemberName("nan-loss")] NanLoss,
    /// <summary>The device ran out of memory for this model and batch size. Not retried.</summary>
    [JsonStringEnumMemberName("out-of-memory")] OutOfMemory,
    /// <summary>The job asked for a device this worker lacks. Not retried.</summary>
    [JsonStringEnumMemberName("device-unavailable")] DeviceUnavailable,
    /// <summary>The job ran past its maximum run time (<c>Worker:MaxRunTime</c>).</summary>
    [JsonStringEnumMemberName("timeout")] Timeout,
    /// <summary>No live worker serves the job's queue, and none did for <c>JobsApi:UnservedQueueTimeout</c>: it never started.</summary>
    [JsonStringEnumMemberName("no-worker")] NoWorker,
}
