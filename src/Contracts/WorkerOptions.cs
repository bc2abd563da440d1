using Microsoft.Extensions.Options;

namespace TrainingService.Contracts;

/// <summary>
/// How a worker process takes and runs jobs, and the lease rules the API's reaper applies to them
/// (<see cref="StaleAfter"/>, <see cref="ReaperInterval"/>, <see cref="MaxAttempts"/>): one section
/// both sides bind, so they cannot disagree. Bound from the <c>Worker</c> section.
/// </summary>
public sealed class WorkerOptions
{
    public const string SectionName = "Worker";

    /// <summary>The Hangfire queues this worker takes jobs from; empty: <c>gpu, default</c> where CUDA works, else <c>cpu, default</c>.</summary>
    public string[] Queues { get; set; } = [];

    /// <summary>Jobs run at once. One per GPU or one on a CPU is the sensible default: jobs compete for the same cores.</summary>
    public int Concurrency { get; set; } = 1;

    /// <summary>libtorch CPU threads per job (torch.set_num_threads, set once on each training thread); 0 means one per core.</summary>
    public int Threads { get; set; }

    /// <summary>How often a running job's heartbeat (and progress) is written.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A running job whose heartbeat is older than this is presumed to have lost its worker.</summary>
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the worker checks whether cancellation of its running job was asked for (each check is a database read).</summary>
    public TimeSpan CancellationPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The nice value (0–19) of every worker thread other than the training threads and their OpenMP
    /// teams: the service's heartbeats, polls, queue and (embedded) API then yield the cores to
    /// training instead of preempting it mid-step. 0 leaves every thread at the process's priority.
    /// </summary>
    public int ServiceThreadsNice { get; set; }

    /// <summary>
    /// Diagnostics, off by default: a file to which each training step's wall time (ms) is appended,
    /// one a line, when a job ends; the engine then reports progress after every step instead of
    /// once a second. What the overhead benchmark compares with the engine alone's step times.
    /// </summary>
    public string? StepTimesFile { get; set; }

    /// <summary>Attempts a job gets for infrastructure failures before it is failed; user errors are never retried.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>
    /// How often a training job checkpoints the epoch in progress, so a worker that is killed or
    /// crashes costs at most this much training (the next attempt resumes at that step); zero
    /// turns it off. An epoch's end is always checkpointed, and so is a graceful stop.
    /// </summary>
    public TimeSpan MidEpochCheckpointInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long a stopping worker (SIGTERM, Ctrl+C) waits for its running job to reach a step
    /// boundary, record what it has and let go; the process exits within this plus a few seconds.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How often the reaper looks for running jobs whose heartbeat is older than <see cref="StaleAfter"/>.
    /// A job whose worker died is taken up again within <c>StaleAfter + ReaperInterval</c> (plus the
    /// queue's poll interval), given a live worker.
    /// </summary>
    public TimeSpan ReaperInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a job fetched from the PostgreSQL queue stays invisible to other workers without
    /// word from its worker. The timeout slides: a live worker keeps extending it, so a long job is
    /// never handed out twice; a dead worker's job reappears after this.
    /// </summary>
    public TimeSpan InvisibilityTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The longest a job may run, counted from its first start across attempts; past it the job
    /// fails with <c>error.kind = timeout</c> and keeps its checkpoints.
    /// </summary>
    public TimeSpan MaxRunTime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The worker's name in <c>GET /workers</c> and job records; empty: host name and process id.</summary>
    public string? Name { get; set; }

    /// <summary>
    /// Refuse to start, saying why, when CUDA is not usable (<c>Worker__RequireCuda</c>). The GPU image sets it: a
    /// GPU worker that cannot see its GPU should fail where an operator sees it, not quietly train on the CPU.
    /// </summary>
    public bool RequireCuda { get; set; }

    /// <summary>
    /// A file the worker touches every few seconds while its heartbeat loop runs (<c>Worker__LivenessFile</c>);
    /// container health checks and liveness probes test its age. Empty: none.
    /// </summary>
    public string? LivenessFile { get; set; }
}

/// <summary>Rejects settings that would make the worker or the reaper misbehave, naming the setting.</summary>
public sealed class WorkerOptionsValidator : IValidateOptions<WorkerOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkerOptions o)
    {
        var errors = new List<string>();
        void Positive(TimeSpan value, string setting)
        {
            if (value <= TimeSpan.Zero) errors.Add($"Worker:{setting} must be positive (it is {value}).");
        }
        Positive(o.HeartbeatInterval, nameof(o.HeartbeatInterval));
        Positive(o.StaleAfter, nameof(o.StaleAfter));
        Positive(o.CancellationPollInterval, nameof(o.CancellationPollInterval));
        Positive(o.ShutdownTimeout, nameof(o.ShutdownTimeout));
        Positive(o.ReaperInterval, nameof(o.ReaperInterval));
        Positive(o.InvisibilityTimeout, nameof(o.InvisibilityTimeout));
        Positive(o.MaxRunTime, nameof(o.MaxRunTime));
        // A heartbeat must land well within the stale threshold, or live jobs would be reaped.
        if (o.StaleAfter > TimeSpan.Zero && o.HeartbeatInterval * 2 > o.StaleAfter)
            errors.Add($"Worker:StaleAfter ({o.StaleAfter}) must be at least twice Worker:HeartbeatInterval ({o.HeartbeatInterval}).");
        if (o.MaxRunTime > TimeSpan.FromDays(30)) errors.Add($"Worker:MaxRunTime must be at most 30 days (it is {o.MaxRunTime}).");
        if (o.MaxAttempts < 1) errors.Add($"Worker:MaxAttempts must be at least 1 (it is {o.MaxAttempts}).");
        if (o.ServiceThreadsNice is < 0 or > 19) errors.Add($"Worker:ServiceThreadsNice must be from 0 to 19 (it is {o.ServiceThreadsNice}).");
        if (o.MidEpochCheckpointInterval < TimeSpan.Zero)
            errors.Add($"Worker:MidEpochCheckpointInterval must be zero (off) or more (it is {o.MidEpochCheckpointInterval}).");
        if (o.Concurrency < 1) errors.Add($"Worker:Concurrency must be at least 1 (it is {o.Concurrency}).");
        if (o.Threads < 0) errors.Add($"Worker:Threads must be 0 (one per core) or more (it is {o.Threads}).");
        return errors.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(errors);
    }
}
