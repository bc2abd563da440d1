using TrainingService.Contracts;
using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Checkpoints;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;

namespace TrainingService.Api.Tests.Infrastructure;

/// <summary>
/// Plays the worker's part through the store: starts an attempt, records epochs and checkpoints
/// (real safetensors files from a real ConvNet, written by <see cref="CheckpointStore"/>), logs,
/// progress, and finishes the attempt.
/// </summary>
public sealed class JobDriver(ApiFactory factory)
{
    private IJobStore Store => factory.Store;

    public static EpochMetrics Metrics(int epoch) =>
        new(epoch, 0.5 / epoch, 0.90 + epoch * 0.01, 0.25 / epoch, 0.95 + epoch * 0.004, 0.002 / epoch, 30 + epoch, 2000 + epoch);

    /// <summary>Starts an attempt as a worker would; returns its lease token.</summary>
    public async Task<Guid> StartAsync(Guid jobId)
    {
        var lease = Guid.NewGuid();
        var now = DateTimeOffset.UtcNow;
        var job = await Store.TryStartAttemptAsync(jobId, lease, "test-worker", "cpu", now, now.AddMinutes(-1), CancellationToken.None);
        Assert.NotNull(job);
        Assert.Equal(JobStatus.Running, job.Status);
        return lease;
    }

    /// <summary>An epoch trained whole by attempt 1, in 469 steps (60,000 images in batches of 128).</summary>
    public static EpochTraining Trained { get; } = new(1, 0, 469, []);

    public async Task RecordEpochAsync(Guid jobId, Guid lease, int epoch) =>
        Assert.Equal(EpochWrite.Recorded, await factory.Epochs.RecordEpochAsync(jobId, lease, Metrics(epoch), Trained, DateTimeOffset.UtcNow, CancellationToken.None));

    public async Task ProgressAsync(Guid jobId, Guid lease, int epoch, long step) =>
        Assert.True(await Store.UpdateProgressAsync(jobId, lease,
            new JobProgress(epoch, 3, step, 469, 2500, 60, 0.1, 0.97, DateTimeOffset.UtcNow), DateTimeOffset.UtcNow, CancellationToken.None));

    /// <summary>Saves a fresh ConvNet as the checkpoint of <paramref name="epoch"/> in the job's folder and records it.</summary>
    public async Task<CheckpointManifest> SaveCheckpointAsync(Guid jobId, Guid lease, int epoch)
    {
        var files = new CheckpointStore(factory.CheckpointOptions.JobDirectory(jobId));
        CheckpointManifest manifest;
        using (var model = ArchitectureCatalog.ConvNet.Create())
            manifest = files.Save(epoch, ArchitectureCatalog.ConvNetName, ArchitectureCatalog.ConvNet.Defaults, Metrics(epoch), model, optimizer: null);
        var weights = manifest.Files.Single(f => f.Name == CheckpointStore.ModelFileName);
        Assert.True(await factory.Checkpoints.RecordCheckpointAsync(jobId, lease,
            new CheckpointRecord(jobId, epoch, weights.SizeBytes, weights.Sha256, Metrics(epoch), manifest.CreatedAt), CancellationToken.None));
        return manifest;
    }

    public void SetAlias(Guid jobId, string alias, int epoch) =>
        new CheckpointStore(factory.CheckpointOptions.JobDirectory(jobId)).SetAlias(alias, epoch);

    public async Task FinishAsync(Guid jobId, Guid lease, JobStatus status, JobResult? result = null, JobError? error = null, TerminationReason? reason = null) =>
        Assert.True(await Store.FinishAttemptAsync(jobId, lease, status, reason ?? ReasonFor(status, error), result, error, DateTimeOffset.UtcNow, CancellationToken.None));

    /// <summary>What a worker would say for this ending, unless a test names the reason itself.</summary>
    public static TerminationReason ReasonFor(JobStatus status, JobError? error) => status switch
    {
        JobStatus.Succeeded => TerminationReason.Succeeded,
        JobStatus.Cancelled => TerminationReason.Cancelled,
        JobStatus.Failed when error?.Kind == JobErrorKind.Timeout => TerminationReason.Timeout,
        JobStatus.Failed when error?.Kind == JobErrorKind.User => TerminationReason.UserError,
        JobStatus.Failed => TerminationReason.InfrastructureError,
        _ => TerminationReason.ShutdownHandback,
    };

    /// <summary>A training job that ran <paramref name="epochs"/> epochs, checkpointed each, and succeeded; best = the last.</summary>
    public async Task SucceedAsync(Guid jobId, int epochs)
    {
        var lease = await StartAsync(jobId);
        for (var epoch = 1; epoch <= epochs; epoch++)
        {
            await RecordEpochAsync(jobId, lease, epoch);
            await SaveCheckpointAsync(jobId, lease, epoch);
        }
        SetAlias(jobId, CheckpointStore.BestAlias, epochs);
        SetAlias(jobId, CheckpointStore.FinalAlias, epochs);
        var last = Metrics(epochs);
        await FinishAsync(jobId, lease, JobStatus.Succeeded,
            new JobResult(last.TestAccuracy, last.TestLoss, last.TestAccuracy, last.TestLoss, epochs, null, null));
    }
}
