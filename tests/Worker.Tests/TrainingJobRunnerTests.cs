using System.Security.Cryptography;
using TrainingService.Contracts;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Checkpoints;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using TrainingService.Tests.Shared;

namespace TrainingService.Worker.Tests;

[Collection(nameof(WorkerCollection))]
public sealed class TrainingJobRunnerTests(WorkerFixture fixture)
{
    private static object Comparable(EpochRecord r) => (r.Metrics.Epoch, r.Metrics.TrainLoss, r.Metrics.TrainAccuracy, r.Metrics.TestLoss, r.Metrics.TestAccuracy);

    private async Task<JobRecord> GetAsync(Guid id) => (await fixture.Store.GetAsync(id, CancellationToken.None))!;

    [Fact]
    public async Task RunsATrainingJobRecordingEveryEpochAndCheckpointThenEvaluatesIt()
    {
        // "auto": the job records the device it resolved to on this (CPU-only) worker.
        var job = await fixture.SubmitAsync(WorkerFixture.Quick with { Device = "auto" });

        await fixture.Runner().RunAsync(job.Id, CancellationToken.None);

        var done = await GetAsync(job.Id);
        Assert.Equal(JobStatus.Succeeded, done.Status);
        Assert.Equal(1, done.Attempt);
        Assert.Null(done.LeaseToken);
        Assert.Equal("test-worker", done.Worker);
        Assert.Equal("cpu", done.Device);
        var epochs = await fixture.Epochs.GetEpochsAsync(job.Id, 0, CancellationToken.None);
        Assert.Equal([1, 2], epochs.Select(e => e.Metrics.Epoch));
        Assert.Equal(epochs[^1].Metrics.TestAccuracy, done.Result!.FinalTestAccuracy);
        Assert.Equal(10, done.Result.ConfusionMatrix!.Length);

        var checkpoints = await fixture.CheckpointIndex.GetCheckpointsAsync(job.Id, CancellationToken.None);
        Assert.Equal([1, 2], checkpoints.Select(c => c.Epoch));
        var finalFile = Path.Combine(fixture.Checkpoints.JobDirectory(job.Id), "epoch-0002", CheckpointStore.ModelFileName);
        Assert.Equal(checkpoints[1].Sha256, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(finalFile))));

        // Running it again (Hangfire is at-least-once) changes nothing.
        await fixture.Runner().RunAsync(job.Id, CancellationToken.None);
        Assert.Equal(1, (await GetAsync(job.Id)).Attempt);

        // An eval job of its final checkpoint gets the same test accuracy back.
        var eval = await fixture.SubmitAsync(WorkerFixture.Quick, JobKind.Eval, new EvalSource(job.Id, "final"));
        await fixture.Runner().RunAsync(eval.Id, CancellationToken.None);
        var evaluated = await GetAsync(eval.Id);
        Assert.Equal(JobStatus.Succeeded, evaluated.Status);
        Assert.Equal(done.Result.FinalTestAccuracy, evaluated.Result!.FinalTestAccuracy, 6);
    }

    [Fact]
    public async Task AJobRunningUnderALiveLeaseIsNotStartedASecondTime()
    {
        var job = await fixture.SubmitAsync(WorkerFixture.Quick);
        var lease = Guid.NewGuid();
        await fixture.Store.TryStartAttemptAsync(job.Id, lease, "other-worker", "cpu", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddMinutes(-1), CancellationToken.None);

        await fixture.Runner().RunAsync(job.Id, CancellationToken.None);

        var after = await GetAsync(job.Id);
        Assert.Equal(JobStatus.Running, after.Status);
        Assert.Equal(1, after.Attempt);
        Assert.Equal(lease, after.LeaseToken);
        Assert.Equal("other-worker", after.Worker);
    }

    [Fact]
    public async Task ACancelledJobStopsAndEndsCancelledNotFailed()
    {
        var job = await fixture.SubmitAsync(WorkerFixture.Quick with { Epochs = 20, TrainSubset = 10_000 });
        var run = fixture.Runner().RunAsync(job.Id, CancellationToken.None);
        await WaitUntilAsync(async () => (await GetAsync(job.Id)).Status == JobStatus.Running);

        Assert.Equal(CancelOutcome.CancellationRequested, await fixture.Store.RequestCancelAsync(job.Id, DateTimeOffset.UtcNow, CancellationToken.None));
        await run.WaitAsync(TimeSpan.FromSeconds(30));

        var after = await GetAsync(job.Id);
        Assert.Equal(JobStatus.Cancelled, after.Status);
        Assert.Null(after.Error);
        Assert.True((await fixture.Epochs.GetEpochsAsync(job.Id, 0, CancellationToken.None)).Count < 20);
    }

    [Fact]
    public async Task AJobStoppedByTheSearchEndsStoppedBySearchKeepingItsEpochsAndCheckpoints()
    {
        // Small epochs, so the job has one recorded before it is stopped, as a sweep's rule stops a trial after a rung.
        var job = await fixture.SubmitAsync(WorkerFixture.Quick with { Epochs = 20, TrainSubset = 2_000 });
        var run = fixture.Runner().RunAsync(job.Id, CancellationToken.None);
        await WaitUntilAsync(async () => (await fixture.Epochs.GetEpochsAsync(job.Id, 0, CancellationToken.None)).Count >= 1);

        Assert.Equal(CancelOutcome.CancellationRequested,
            await fixture.Store.RequestCancelAsync(job.Id, TerminationReason.StoppedBySearch, DateTimeOffset.UtcNow, CancellationToken.None));
        await run.WaitAsync(TimeSpan.FromSeconds(30));

        // The worker ends its attempt as for any cancel; the job keeps the reason it was stopped for.
        var after = await GetAsync(job.Id);
        Assert.Equal((JobStatus.Cancelled, TerminationReason.StoppedBySearch), (after.Status, after.TerminationReason));
        Assert.Null(after.Error);
        var epochs = await fixture.Epochs.GetEpochsAsync(job.Id, 0, CancellationToken.None);
        Assert.InRange(epochs.Count, 1, 19);
        Assert.NotEmpty(await fixture.CheckpointIndex.GetCheckpointsAsync(job.Id, CancellationToken.None));
    }

    [Fact]
    public async Task AUserErrorFailsTheJobAtOnceWithoutARetry()
    {
        if (TorchSharp.torch.cuda.is_available()) return; // the failure under test needs a CPU-only machine
        var job = await fixture.SubmitAsync(WorkerFixture.Quick with { Device = "cuda:0" });

        await fixture.Runner().RunAsync(job.Id, CancellationToken.None); // returns: Hangfire must not retry

        var after = await GetAsync(job.Id);
        Assert.Equal(JobStatus.Failed, after.Status);
        Assert.Equal(JobErrorKind.User, after.Error!.Kind);
        Assert.Contains("CUDA", after.Error.Message);
        Assert.Equal(1, after.Attempt);
        Assert.Equal(TerminationReason.DeviceUnavailable, after.TerminationReason);
    }

    [Fact]
    public async Task AnInfrastructureFailureIsRetriedUntilTheAttemptsRunOut()
    {
        // A checkpoint root that is a file: every checkpoint write fails with an I/O error.
        var blocked = Path.Combine(Path.GetTempPath(), $"trainingservice-not-a-folder-{Guid.NewGuid():N}");
        File.WriteAllText(blocked, "");
        var original = fixture.Checkpoints.Root;
        fixture.Checkpoints.Root = blocked;
        try
        {
            var job = await fixture.SubmitAsync(WorkerFixture.Quick with { Epochs = 1 });

            await Assert.ThrowsAnyAsync<IOException>(() => fixture.Runner().RunAsync(job.Id, CancellationToken.None));
            var first = await GetAsync(job.Id);
            Assert.Equal(JobStatus.Interrupted, first.Status);
            Assert.Equal(JobErrorKind.Infrastructure, first.Error!.Kind);

            await fixture.Runner().RunAsync(job.Id, CancellationToken.None); // the last attempt: fails, no rethrow
            var last = await GetAsync(job.Id);
            Assert.Equal(JobStatus.Failed, last.Status);
            Assert.Equal(2, last.Attempt);
            Assert.Equal(JobErrorKind.Infrastructure, last.Error!.Kind);
        }
        finally
        {
            fixture.Checkpoints.Root = original;
            File.Delete(blocked);
        }
    }

    [Fact]
    public async Task AWorkerShuttingDownInterruptsTheJobWhichThenResumesToTheSameResult()
    {
        var uninterrupted = await fixture.SubmitAsync(WorkerFixture.Quick with { Epochs = 3 });
        await fixture.Runner().RunAsync(uninterrupted.Id, CancellationToken.None);

        var job = await fixture.SubmitAsync(WorkerFixture.Quick with { Epochs = 3 });
        using var shutdown = new CancellationTokenSource();
        var run = fixture.Runner().RunAsync(job.Id, shutdown.Token);
        await WaitUntilAsync(async () => (await fixture.Epochs.GetEpochsAsync(job.Id, 0, CancellationToken.None)).Count >= 1);
        await shutdown.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        var interrupted = await GetAsync(job.Id);
        Assert.Equal(JobStatus.Interrupted, interrupted.Status);
        Assert.Null(interrupted.Error);

        await fixture.Runner().RunAsync(job.Id, CancellationToken.None);

        var resumed = await GetAsync(job.Id);
        Assert.Equal(JobStatus.Succeeded, resumed.Status);
        Assert.Equal(2, resumed.Attempt);
        // Both attempts are on record: the first handed back on shutdown, the second started where it stopped.
        var attempts = await fixture.Attempts.ListAttemptsAsync(job.Id, CancellationToken.None);
        Assert.Equal([TerminationReason.ShutdownHandback, TerminationReason.Succeeded], attempts.Select(a => a.Reason));
        Assert.Equal((1, 0L), (attempts[0].StartedFromEpoch, attempts[0].StartedFromStep));
        Assert.Equal((attempts[0].ReachedEpoch, attempts[0].ReachedStep), (attempts[1].StartedFromEpoch, attempts[1].StartedFromStep));
        Assert.Equal(TerminationReason.Succeeded, resumed.TerminationReason);
        var expected = await fixture.Epochs.GetEpochsAsync(uninterrupted.Id, 0, CancellationToken.None);
        var actual = await fixture.Epochs.GetEpochsAsync(job.Id, 0, CancellationToken.None);
        Assert.Equal([1, 2, 3], actual.Select(e => e.Metrics.Epoch));
        Assert.Equal(expected.Select(Comparable), actual.Select(Comparable));
        // Each epoch trained once: recorded by attempt 1 or 2, its steps adding up to the epoch's.
        var stepsPerEpoch = (WorkerFixture.Quick.TrainSubset!.Value + WorkerFixture.Quick.BatchSize - 1) / WorkerFixture.Quick.BatchSize;
        Assert.Empty(EpochInvariants.Violations(DoubleRunDetectionTests.Ledger(actual), 3, stepsPerEpoch, resumed.Attempt));
        Assert.Equal(1, actual[0].Training!.Attempt);
        Assert.Equal(2, actual[^1].Training!.Attempt);
    }

    [Fact]
    public async Task TheReaperHandsBackAJobWhoseWorkerStoppedHeartbeating()
    {
        var lost = await fixture.SubmitAsync(WorkerFixture.Quick);
        var alive = await fixture.SubmitAsync(WorkerFixture.Quick);
        var longAgo = DateTimeOffset.UtcNow.AddMinutes(-10);
        await fixture.Store.TryStartAttemptAsync(lost.Id, Guid.NewGuid(), "dead-worker", "cpu", longAgo, longAgo, CancellationToken.None);
        await fixture.Store.TryStartAttemptAsync(alive.Id, Guid.NewGuid(), "live-worker", "cpu", DateTimeOffset.UtcNow, longAgo, CancellationToken.None);

        await fixture.Reaper().SweepAsync(CancellationToken.None);

        var reaped = await GetAsync(lost.Id);
        Assert.Equal(JobStatus.Interrupted, reaped.Status);
        Assert.Equal(TerminationReason.WorkerLost, (await fixture.Attempts.ListAttemptsAsync(lost.Id, CancellationToken.None)).Single().Reason);
        Assert.Null(reaped.LeaseToken);
        Assert.Equal(JobErrorKind.Infrastructure, reaped.Error!.Kind);
        Assert.Contains(lost.Id, fixture.Dispatched);
        Assert.Equal(JobStatus.Running, (await GetAsync(alive.Id)).Status);
        Assert.DoesNotContain(alive.Id, fixture.Dispatched);
    }

    [Fact]
    public async Task AJobWhoseWorkerIsLostInItsLastAttemptFailsInsteadOfBeingHandedBackForever()
    {
        var job = await fixture.SubmitAsync(WorkerFixture.Quick);
        var longAgo = DateTimeOffset.UtcNow.AddMinutes(-10);
        for (var attempt = 1; attempt <= fixture.Options.MaxAttempts; attempt++)
        {
            Assert.NotNull(await fixture.Store.TryStartAttemptAsync(job.Id, Guid.NewGuid(), $"killed-worker-{attempt}", "cpu", longAgo, longAgo, CancellationToken.None));
            await fixture.Reaper().SweepAsync(CancellationToken.None);
        }

        var failed = await GetAsync(job.Id);
        Assert.Equal(JobStatus.Failed, failed.Status);
        Assert.Equal(fixture.Options.MaxAttempts, failed.Attempt);
        Assert.Equal(JobErrorKind.Infrastructure, failed.Error!.Kind);
        Assert.Contains($"Attempt {fixture.Options.MaxAttempts} of {fixture.Options.MaxAttempts}", failed.Error.Message);
        Assert.Contains("no attempts left", failed.Error.Message);
        // Handed back after each earlier attempt, not after the last.
        Assert.Equal(fixture.Options.MaxAttempts - 1, fixture.Dispatched.Count(id => id == job.Id));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting");
            await Task.Delay(50);
        }
    }
}

[CollectionDefinition(nameof(WorkerCollection))]
public sealed class WorkerCollection : ICollectionFixture<WorkerFixture>;
