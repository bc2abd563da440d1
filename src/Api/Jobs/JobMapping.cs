using TrainingService.Contracts.Architectures;
using TrainingService.Contracts;
using TrainingService.Contracts.Telemetry;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Jobs;

/// <summary>
/// Stored job rows → wire types. Storage-only fields (lease token, heartbeat, idempotency key,
/// queue, cancel flag) stay behind: clients see the lifecycle, not the machinery.
/// </summary>
public static class JobMapping
{
    /// <summary>
    /// Every stored job names its normalization: the API names it on submission, and schema migration 7
    /// named it for the jobs stored before it was a hyperparameter. A job that does not was written
    /// around both, and what it built cannot be told.
    /// </summary>
    /// <param name="job">The stored job.</param>
    /// <param name="attempts">The job's attempts, for the one-job view; null in listings.</param>
    public static JobResponse ToResponse(this JobRecord job, IReadOnlyList<JobAttempt>? attempts = null) => new()
    {
        Id = job.Id,
        Kind = job.Kind,
        Architecture = job.Architecture,
        Status = job.Status,
        Name = job.Name,
        Tags = job.Tags,
        // Every stored job names its normalization (migration 7 named the older ones').
        Hyperparameters = job.Hyperparameters,
        Dataset = job.Dataset,
        Source = job.Source is { } source ? new EvalSourceResponse { JobId = source.JobId, Checkpoint = source.Checkpoint } : null,
        CreatedAt = job.CreatedAt,
        StartedAt = job.StartedAt,
        FinishedAt = job.FinishedAt,
        Attempt = job.Attempt,
        Worker = job.Worker,
        Device = job.Device,
        Progress = job.Progress?.ToResponse(),
        Owner = job.Owner,
        Result = job.Result is { } result ? new JobResultResponse
        {
            FinalTestAccuracy = result.FinalTestAccuracy,
            FinalTestLoss = result.FinalTestLoss,
            BestTestAccuracy = result.BestTestAccuracy,
            BestTestLoss = result.BestTestLoss,
            BestEpoch = result.BestEpoch,
            ConfusionMatrix = result.ConfusionMatrix,
            PerClassAccuracy = result.PerClassAccuracy,
            Expectations = JobExpectations.Check(job),
            Passed = JobExpectations.Check(job).All(e => e.Held),
        } : null,
        Error = job.Error is { } error ? new JobErrorResponse { Kind = error.Kind, Message = error.Message } : null,
        TerminationReason = job.TerminationReason,
        Expect = job.Expect,
        Attempts = attempts?.Select(a => a.ToResponse()).ToList(),
        TraceId = JobTracing.TraceIdOf(job.TraceParent),
    };

    public static JobAttemptResponse ToResponse(this JobAttempt attempt) => new()
    {
        Number = attempt.Number,
        Worker = attempt.Worker,
        Device = attempt.Device,
        StartedAt = attempt.StartedAt,
        EndedAt = attempt.EndedAt,
        Reason = attempt.Reason,
        Message = attempt.Message,
        StartedFromEpoch = attempt.StartedFromEpoch,
        StartedFromStep = attempt.StartedFromStep,
        ReachedEpoch = attempt.ReachedEpoch,
        ReachedStep = attempt.ReachedStep,
    };

    public static JobProgressResponse ToResponse(this JobProgress progress) => new()
    {
        Epoch = progress.Epoch,
        Epochs = progress.Epochs,
        Step = progress.Step,
        StepsPerEpoch = progress.StepsPerEpoch,
        SamplesPerSecond = progress.SamplesPerSecond,
        EtaSeconds = progress.EtaSeconds,
        RunningLoss = progress.RunningLoss,
        RunningAccuracy = progress.RunningAccuracy,
        UpdatedAt = progress.UpdatedAt,
        Fraction = progress.Epochs * progress.StepsPerEpoch is var total and > 0
            ? Math.Clamp(((progress.Epoch - 1) * progress.StepsPerEpoch + progress.Step) / (double)total, 0, 1)
            : 0,
        EstimatedCompletionAt = progress.EtaSeconds is { } eta && double.IsFinite(eta) ? progress.UpdatedAt.AddSeconds(eta) : null,
    };
}
