using System.Text.Json.Nodes;
using TrainingService.Contracts;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Training;
using TrainingService.Tests.Shared;

namespace TrainingService.Worker.Tests;

/// <summary>
/// The detector of "an epoch trained twice" proven able to fire: real runner attempts on the same
/// job, with the checkpoint folder doctored between them so that the second attempt really trains
/// again what the first did — an epoch from its start, or steps after a mid-epoch resume. The
/// records then say so (a conflict kept by the store, a step count over the epoch's), and
/// <see cref="EpochInvariants"/> — what the fault tests and the soak assert with — reports it.
/// </summary>
[Collection(nameof(WorkerCollection))]
public sealed class DoubleRunDetectionTests(WorkerFixture fixture)
{
    private const int BatchSize = 64;

    [Fact]
    public async Task AnEpochThatASecondAttemptTrainsAgainFromItsStartIsKeptAsAConflictAndCaught()
    {
        var hyperparameters = WorkerFixture.Quick with { Epochs = 2, TrainSubset = 60 * BatchSize, BatchSize = BatchSize };
        var job = await fixture.SubmitAsync(hyperparameters);
        await InterruptOnceAsync(job.Id, until: async () => (await EpochsAsync(job.Id)).Count >= 1);
        var firstRecords = await EpochsAsync(job.Id);
        Assert.Empty(EpochInvariants.Violations(Ledger(firstRecords), firstRecords.Count, 60, 1));

        // The doctored folder: the epochs' checkpoints are gone (as when an epoch was recorded
        // before its checkpoint reached the disk), so attempt 2 trains them again from the start.
        foreach (var folder in Directory.EnumerateDirectories(fixture.Checkpoints.JobDirectory(job.Id)))
            Directory.Delete(folder, recursive: true);
        await fixture.Runner().RunAsync(job.Id, CancellationToken.None);

        var finished = (await fixture.Store.GetAsync(job.Id, CancellationToken.None))!;
        Assert.Equal(JobStatus.Succeeded, finished.Status);
        Assert.Equal(2, finished.Attempt);
        var records = await EpochsAsync(job.Id);
        // The first record stands; the second attempt's write of the same epoch is kept beside it.
        var first = records[0];
        Assert.Equal(firstRecords[0].Metrics, first.Metrics);
        Assert.Equal(1, first.Training!.Attempt);
        var conflict = Assert.Single(first.Conflicts);
        Assert.Equal((2, 0, 60), (conflict.Training.Attempt, conflict.Training.ResumedFromStep, conflict.Training.StepsRun));

        var violations = EpochInvariants.Violations(Ledger(records), 2, 60, finished.Attempt);
        Assert.Contains(violations, v => v.StartsWith("epoch 1 was trained again", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StepsThatAnAttemptRunsAgainAfterAMidEpochResumeAreCountedAndCaught()
    {
        // 200 steps in the epoch, so the stop lands inside it.
        var hyperparameters = WorkerFixture.Quick with { Epochs = 1, TrainSubset = 200 * BatchSize, BatchSize = BatchSize };
        var job = await fixture.SubmitAsync(hyperparameters);
        await InterruptOnceAsync(job.Id, until: async () =>
            (await fixture.Store.GetAsync(job.Id, CancellationToken.None))?.Progress is { Epoch: 1, Step: >= 20 and <= 150 });
        var midEpoch = Path.Combine(fixture.Checkpoints.JobDirectory(job.Id), CheckpointedTraining.MidEpochFolder);
        var manifestFile = Assert.Single(Directory.GetFiles(midEpoch, CheckpointFolder.ManifestFileName, SearchOption.AllDirectories));
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(manifestFile))!;
        var stoppedAt = (int)manifest["midEpoch"]!["stepsDone"]!;
        var stoppedIn = (int)manifest["midEpoch"]!["epoch"]!;
        Assert.InRange(stoppedAt, 1, 199);
        Assert.Equal(stoppedAt, (int)manifest["midEpoch"]!["stepsRun"]![0]!["steps"]!);

        // The doctored position: the weights after stoppedAt steps, resumed as if at the epoch's
        // start, so every one of those steps runs a second time.
        manifest["midEpoch"]!["stepsDone"] = 0;
        await File.WriteAllTextAsync(manifestFile, manifest.ToJsonString());
        await fixture.Runner().RunAsync(job.Id, CancellationToken.None);

        var finished = (await fixture.Store.GetAsync(job.Id, CancellationToken.None))!;
        Assert.Equal(JobStatus.Succeeded, finished.Status);
        var resumed = (await EpochsAsync(job.Id)).Single(e => e.Metrics.Epoch == stoppedIn);
        Assert.Equal(new Contracts.Training.EpochTraining(2, 0, 200, [new(1, stoppedAt)]), resumed.Training);

        var violations = EpochInvariants.Violations(Ledger(await EpochsAsync(job.Id)), 1, 200, finished.Attempt);
        Assert.Contains($"epoch {stoppedIn} ran {200 + stoppedAt} optimizer steps over its attempts (attempt 1: {stoppedAt}, attempt 2: 200), not 200: steps were run twice or skipped", violations);
    }

    /// <summary>Runs attempt 1 until <paramref name="until"/> holds, then stops its worker (the job is handed back, interrupted).</summary>
    private async Task InterruptOnceAsync(Guid jobId, Func<Task<bool>> until)
    {
        using var shutdown = new CancellationTokenSource();
        var run = fixture.Runner().RunAsync(jobId, shutdown.Token);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!await until())
        {
            Assert.False(run.IsCompleted, "attempt 1 ended before it could be stopped");
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for attempt 1");
            await Task.Delay(20);
        }
        await shutdown.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(JobStatus.Interrupted, (await fixture.Store.GetAsync(jobId, CancellationToken.None))!.Status);
    }

    private Task<IReadOnlyList<EpochRecord>> EpochsAsync(Guid jobId) => fixture.Epochs.GetEpochsAsync(jobId, 0, CancellationToken.None);

    /// <summary>The records as the invariants read them.</summary>
    public static IReadOnlyList<EpochLedger> Ledger(IEnumerable<EpochRecord> records) =>
        [.. records.Select(r => new EpochLedger(r.Metrics.Epoch, r.Training?.Attempt, r.Training?.ResumedFromStep ?? 0, r.Training?.StepsRun ?? 0,
            [.. (r.Training?.EarlierAttempts ?? []).Select(a => (a.Attempt, a.Steps))], r.Conflicts.Count))];
}
