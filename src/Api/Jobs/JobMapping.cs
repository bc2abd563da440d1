using TrainingService.Contracts.Architectures;
using TrainingService.Contracts;
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
    public static JobResponse ToResponse(this JobRecord job) => new()
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
        } : null,
        Error = job.Error is { } error ? new JobErrorResponse { Kind = error.Kind, Message = error.Message } : null,
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
    };
}
