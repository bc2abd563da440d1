namespace TrainingService.Api.Jobs;

/// <summary>
/// Limits and timings of the jobs endpoints. Bound from the <c>JobsApi</c> section:
/// <c>JobsApi__MaxRequestBodyBytes</c>, <c>JobsApi__StreamPollInterval</c>, <c>JobsApi__StreamKeepAliveInterval</c>,
/// <c>JobsApi__DispatchSweepInterval</c>, <c>JobsApi__SweepSchedulerInterval</c>, <c>JobsApi__UnservedQueueTimeout</c>,
/// <c>JobsApi__MaxWait</c>.
/// </summary>
public sealed class JobsApiOptions
{
    public const string SectionName = "JobsApi";

    /// <summary>The largest <c>POST /jobs</c> body accepted; larger ones get 413. Default 64 KiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// How often the one shared poller per watched job reads the store while streams are open.
    /// Default 300 ms, so a new epoch reaches every stream well within a second.
    /// </summary>
    public TimeSpan StreamPollInterval { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>Longest silence on an open stream before a <c>: keep-alive</c> comment. Default 15 s.</summary>
    public TimeSpan StreamKeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How often the outbox looks for stored jobs whose hand-over to the queue failed, and how old such
    /// a job must be before it is retried (so a submission still handing its job over is left alone).
    /// Default 30 s.
    /// </summary>
    public TimeSpan DispatchSweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The longest <c>?wait=</c> a <c>GET /jobs/{id}</c> or <c>GET /sweeps/{id}</c> may ask for: it answers
    /// as soon as the job or sweep ends, or with its current state when the wait runs out. Default 300 s.
    /// </summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>How often sweeps with free slots get their next jobs (a finished job frees a slot). Default 2 s.</summary>
    public TimeSpan SweepSchedulerInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A job that has waited this long on a queue that none of the live workers takes from (a
    /// <c>cuda</c> job where every worker is CPU-only) fails with <c>error.kind = user</c>, rather
    /// than wait forever. Only while some worker is alive: with none at all, jobs keep waiting.
    /// Default 15 minutes (room for an autoscaler to bring a GPU worker up); zero turns it off.
    /// </summary>
    public TimeSpan UnservedQueueTimeout { get; set; } = TimeSpan.FromMinutes(15);

    public void Validate()
    {
        if (MaxRequestBodyBytes is < 1024 or > 16 * 1024 * 1024)
            throw new InvalidOperationException($"{SectionName}:{nameof(MaxRequestBodyBytes)} must be between 1 KiB and 16 MiB; it is {MaxRequestBodyBytes}.");
        if (StreamPollInterval < TimeSpan.FromMilliseconds(50) || StreamPollInterval > TimeSpan.FromSeconds(10))
            throw new InvalidOperationException($"{SectionName}:{nameof(StreamPollInterval)} must be between 50 ms and 10 s; it is {StreamPollInterval}.");
        if (StreamKeepAliveInterval < TimeSpan.FromMilliseconds(100) || StreamKeepAliveInterval > TimeSpan.FromMinutes(5))
            throw new InvalidOperationException($"{SectionName}:{nameof(StreamKeepAliveInterval)} must be between 100 ms and 5 minutes; it is {StreamKeepAliveInterval}.");
        if (DispatchSweepInterval < TimeSpan.FromMilliseconds(100) || DispatchSweepInterval > TimeSpan.FromHours(1))
            throw new InvalidOperationException($"{SectionName}:{nameof(DispatchSweepInterval)} must be between 100 ms and 1 hour; it is {DispatchSweepInterval}.");
        if (MaxWait < TimeSpan.FromSeconds(1) || MaxWait > TimeSpan.FromHours(1))
            throw new InvalidOperationException($"{SectionName}:{nameof(MaxWait)} must be between 1 s and 1 hour; it is {MaxWait}.");
        if (UnservedQueueTimeout < TimeSpan.Zero)
            throw new InvalidOperationException($"{SectionName}:{nameof(UnservedQueueTimeout)} must not be negative; it is {UnservedQueueTimeout}.");
        if (SweepSchedulerInterval < TimeSpan.FromMilliseconds(100) || SweepSchedulerInterval > TimeSpan.FromMinutes(10))
            throw new InvalidOperationException($"{SectionName}:{nameof(SweepSchedulerInterval)} must be between 100 ms and 10 minutes; it is {SweepSchedulerInterval}.");
    }
}
