using TrainingService.Contracts.Architectures;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Contracts;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Jobs;

/// <summary>A job as clients see it. Fields that do not apply (yet) are null.</summary>
public sealed record JobResponse : IOpenApiExample<JobResponse>
{
    /// <summary>The job's id.</summary>
    public required Guid Id { get; init; }

    /// <summary>train or eval.</summary>
    public required JobKind Kind { get; init; }

    /// <summary>The architecture trained or evaluated.</summary>
    public required string Architecture { get; init; }

    /// <summary>Where the job is in its lifecycle (queued → running → succeeded, failed or cancelled; cancelling; interrupted while it waits to resume). The server owns it.</summary>
    public required JobStatus Status { get; init; }

    /// <summary>The client's label, if any.</summary>
    public required string? Name { get; init; }

    /// <summary>The client's tags.</summary>
    public required IReadOnlyList<string> Tags { get; init; }

    /// <summary>The effective hyperparameters: the request's overrides on the architecture's defaults (an eval job's are its source's).</summary>
    public required Hyperparameters Hyperparameters { get; init; }

    /// <summary>What it trains or evaluates on: <c>mnist</c>, <c>fashion-mnist</c>, or an uploaded dataset's id.</summary>
    public required string Dataset { get; init; }

    /// <summary>For an eval job: the checkpoint it evaluates.</summary>
    public required EvalSourceResponse? Source { get; init; }

    /// <summary>When it was submitted.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When a worker first started it.</summary>
    public required DateTimeOffset? StartedAt { get; init; }

    /// <summary>When it reached succeeded, failed or cancelled.</summary>
    public required DateTimeOffset? FinishedAt { get; init; }

    /// <summary>How many times a worker has started it: 1 on the first run, more after a resume.</summary>
    public required int Attempt { get; init; }

    /// <summary>The worker running it, or that ran it last.</summary>
    public required string? Worker { get; init; }

    /// <summary>The device it runs or ran on (cpu, cuda:0).</summary>
    public required string? Device { get; init; }

    /// <summary>Where a running job is; its worker refreshes this at least every 2 seconds.</summary>
    public required JobProgressResponse? Progress { get; init; }

    /// <summary>The outcome, once it has succeeded.</summary>
    public required JobResultResponse? Result { get; init; }

    /// <summary>Why it failed, when it failed.</summary>
    public required JobErrorResponse? Error { get; init; }

    /// <summary>The name of the API key that submitted it; null when it was submitted with authentication off.</summary>
    public required string? Owner { get; init; }

    /// <summary>
    /// Why it ended, once it has: succeeded, cancelled, stopped-by-search (a sweep's early-stopping rule stopped it: status
    /// cancelled, but neither someone's cancel nor a failure), shutdown-handback, worker-lost, infrastructure-error, user-error,
    /// nan-loss, out-of-memory, device-unavailable, timeout or no-worker (its final attempt's reason, or why it never started).
    /// </summary>
    public required TerminationReason? TerminationReason { get; init; }

    /// <summary>The conditions on its final figures it was submitted with (<c>expect</c>), by figure; null for none.</summary>
    public required IReadOnlyDictionary<string, ExpectationBound>? Expect { get; init; }

    /// <summary>Every run of it by a worker, first first, with where each started, got to and why it ended. Given by <c>GET /jobs/{id}</c>; null in listings.</summary>
    public required IReadOnlyList<JobAttemptResponse>? Attempts { get; init; }

    /// <summary>The trace its submission started (W3C trace id): the outbox, the queue, each attempt and each epoch are spans in it.</summary>
    public required string? TraceId { get; init; }

    public static JobResponse Example { get; } = new()
    {
        Id = Guid.Parse("0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e"),
        Kind = JobKind.Train,
        Architecture = "convnet",
        Status = JobStatus.Running,
        Name = "convnet baseline",
        Tags = ["baseline"],
        Hyperparameters = ArchitectureCatalog.ConvNet.Defaults,
        Dataset = "fashion-mnist",
        Source = null,
        CreatedAt = new DateTimeOffset(2025, 11, 26, 15, 40, 0, TimeSpan.Zero),
        StartedAt = new DateTimeOffset(2025, 11, 26, 15, 40, 2, TimeSpan.Zero),
        FinishedAt = null,
        Attempt = 1,
        Worker = "gpu-worker-1",
        Device = "cuda:0",
        Progress = JobProgressResponse.Example,
        Result = null,
        Error = null,
        Owner = "alice",
        TerminationReason = null,
        Expect = new Dictionary<string, ExpectationBound> { ["testAccuracy"] = new(0.99, null) },
        Attempts = [JobAttemptResponse.Example],
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
    };
}

/// <summary>One run of a job by a worker.</summary>
public sealed record JobAttemptResponse : IOpenApiExample<JobAttemptResponse>
{
    /// <summary>1 for the first attempt.</summary>
    public required int Number { get; init; }

    /// <summary>The worker that ran it.</summary>
    public required string Worker { get; init; }

    /// <summary>The device it ran on (cpu, cuda:0).</summary>
    public required string Device { get; init; }

    /// <summary>When the worker took the job.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>When it ended; null while it runs.</summary>
    public required DateTimeOffset? EndedAt { get; init; }

    /// <summary>Why it ended (see the job's terminationReason for the values); null while it runs.</summary>
    public required TerminationReason? Reason { get; init; }

    /// <summary>The error that ended it, if one did.</summary>
    public required string? Message { get; init; }

    /// <summary>The epoch it began in: 1 for a fresh start, later when it resumed from a checkpoint; null until the worker has loaded it.</summary>
    public required int? StartedFromEpoch { get; init; }

    /// <summary>The step within that epoch it began at: 0 unless it resumed mid-epoch.</summary>
    public required long? StartedFromStep { get; init; }

    /// <summary>The epoch it had reached when it ended.</summary>
    public required int? ReachedEpoch { get; init; }

    /// <summary>The step within that epoch it had reached when it ended.</summary>
    public required long? ReachedStep { get; init; }

    public static JobAttemptResponse Example { get; } = new()
    {
        Number = 1, Worker = "gpu-worker-1", Device = "cuda:0", StartedAt = new DateTimeOffset(2025, 11, 26, 15, 40, 2, TimeSpan.Zero),
        EndedAt = null, Reason = null, Message = null, StartedFromEpoch = 1, StartedFromStep = 0, ReachedEpoch = null, ReachedStep = null,
    };
}

/// <summary>The checkpoint an eval job evaluates.</summary>
public sealed record EvalSourceResponse : IOpenApiExample<EvalSourceResponse>
{
    /// <summary>The training job.</summary>
    public required Guid JobId { get; init; }

    /// <summary>final, best, or an epoch number.</summary>
    public required string Checkpoint { get; init; }

    public static EvalSourceResponse Example { get; } = new() { JobId = Guid.Parse("0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e"), Checkpoint = "best" };
}

/// <summary>A running job's position.</summary>
public sealed record JobProgressResponse : IOpenApiExample<JobProgressResponse>
{
    /// <summary>The epoch being trained.</summary>
    public required int Epoch { get; init; }

    /// <summary>Epochs in the run.</summary>
    public required int Epochs { get; init; }

    /// <summary>Step within the epoch.</summary>
    public required long Step { get; init; }

    /// <summary>Steps per epoch.</summary>
    public required long StepsPerEpoch { get; init; }

    /// <summary>Training images per second, recently.</summary>
    public required double SamplesPerSecond { get; init; }

    /// <summary>Estimated seconds until the run ends, when known.</summary>
    public required double? EtaSeconds { get; init; }

    /// <summary>Mean training loss so far this epoch, when known.</summary>
    public required double? RunningLoss { get; init; }

    /// <summary>Training accuracy so far this epoch (a fraction), when known.</summary>
    public required double? RunningAccuracy { get; init; }

    /// <summary>When the worker reported this.</summary>
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>How much of the run is done, 0 to 1: steps done over all the run's steps.</summary>
    public required double Fraction { get; init; }

    /// <summary>When the run should end at its recent pace (<c>updatedAt</c> + <c>etaSeconds</c>), when known.</summary>
    public required DateTimeOffset? EstimatedCompletionAt { get; init; }

    public static JobProgressResponse Example { get; } = new()
    {
        Epoch = 2, Epochs = 3, Step = 120, StepsPerEpoch = 469, SamplesPerSecond = 8450.5, EtaSeconds = 41.2,
        RunningLoss = 0.0412, RunningAccuracy = 0.9871, UpdatedAt = new DateTimeOffset(2025, 11, 26, 15, 41, 10, TimeSpan.Zero),
        Fraction = 0.42, EstimatedCompletionAt = new DateTimeOffset(2025, 11, 26, 15, 41, 51, TimeSpan.Zero),
    };
}

/// <summary>How a job ended up. Accuracies are fractions.</summary>
public sealed record JobResultResponse : IOpenApiExample<JobResultResponse>
{
    /// <summary>Test accuracy after the last epoch (an eval job: of the evaluated checkpoint).</summary>
    public required double FinalTestAccuracy { get; init; }

    /// <summary>Mean test loss after the last epoch.</summary>
    public required double FinalTestLoss { get; init; }

    /// <summary>The best epoch's test accuracy.</summary>
    public required double? BestTestAccuracy { get; init; }

    /// <summary>The best epoch's test loss.</summary>
    public required double? BestTestLoss { get; init; }

    /// <summary>The epoch with the best test accuracy.</summary>
    public required int? BestEpoch { get; init; }

    /// <summary>confusionMatrix[trueClass][predictedClass] = number of test images, when recorded.</summary>
    public required long[][]? ConfusionMatrix { get; init; }

    /// <summary>Per class, the fraction of its test images classified correctly, when recorded.</summary>
    public required double[]? PerClassAccuracy { get; init; }

    /// <summary>Each of the job's <c>expect</c> conditions, checked: the figure's value and whether it held. Empty without any.</summary>
    public required IReadOnlyList<ExpectationOutcome> Expectations { get; init; }

    /// <summary>Whether every expectation held (true when there were none). A job whose run succeeded but whose figures missed is <c>succeeded</c> with <c>passed: false</c>.</summary>
    public required bool Passed { get; init; }

    public static JobResultResponse Example { get; } = new()
    {
        FinalTestAccuracy = 0.9934, FinalTestLoss = 0.0213, BestTestAccuracy = 0.9934, BestTestLoss = 0.0213, BestEpoch = 3,
        ConfusionMatrix = null, PerClassAccuracy = null,
        Expectations = [new ExpectationOutcome("testAccuracy", 0.99, null, 0.9934, true)], Passed = true,
    };
}

/// <summary>Why a job failed.</summary>
public sealed record JobErrorResponse : IOpenApiExample<JobErrorResponse>
{
    /// <summary>user (the job's own inputs; not retried), infrastructure (retried), or timeout.</summary>
    public required JobErrorKind Kind { get; init; }

    /// <summary>What went wrong.</summary>
    public required string Message { get; init; }

    public static JobErrorResponse Example { get; } = new() { Kind = JobErrorKind.User, Message = "The loss became NaN in epoch 2; lower the learning rate." };
}

/// <summary>A page of jobs, newest first.</summary>
public sealed record JobPageResponse : IOpenApiExample<JobPageResponse>
{
    /// <summary>The jobs on this page.</summary>
    public required IReadOnlyList<JobResponse> Items { get; init; }

    /// <summary>Pass as <c>cursor</c> to get the next page; null on the last page.</summary>
    public required string? NextCursor { get; init; }

    public static JobPageResponse Example { get; } = new() { Items = [JobResponse.Example], NextCursor = "djF8NjM4OTk4MDI0MDAwMDAwMDAwfDAxOTdhMWYyNmMzZTdkNGE5YjFlMmYzYTRiNWM2ZDdl" };
}
