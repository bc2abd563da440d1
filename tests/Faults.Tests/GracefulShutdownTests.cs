using System.Text.RegularExpressions;
using TrainingService.Faults.Tests.Infrastructure;
using TrainingService.Tests.Shared;

namespace TrainingService.Faults.Tests;

/// <summary>
/// SIGTERM, as a container runtime or systemd stops a worker: the running job stops at the next
/// step boundary, checkpoints the epoch in progress there, is handed back for resumption
/// (interrupted, then queued again), the worker takes no new job, and the process exits 0 within
/// the grace period (Worker:ShutdownTimeout). Shutdown is not cancellation: the job never ends cancelled or failed,
/// and the next worker resumes it at the step it stopped at, not at the epoch's start.
/// </summary>
public sealed partial class GracefulShutdownTests(ITestOutputHelper output)
{
    private const int Epochs = 2;
    private const int TrainSubset = FaultRig.LongEpochTrainSubset;
    private const int StepsPerEpoch = FaultRig.LongEpochSteps;

    [Fact]
    public async Task AWorkerStoppedWithSigtermCheckpointsMidEpochHandsItsJobBackAndExitsZeroAndTheNextWorkerResumesAtThatStep()
    {
        await using var rig = await FaultRig.StartOnPostgresAsync(output);
        var first = rig.StartWorker("worker-stopping");
        var id = await rig.SubmitAsync("sigterm", Epochs, TrainSubset);
        // Mid-epoch for sure: epoch 2 with steps done and many still to go.
        await rig.WaitForEpoch2StepsAsync(id, 2, StepsPerEpoch / 2);
        // Queued behind it (one job at a time): the uninterrupted run to compare with, which the
        // stopping worker must leave for the next one.
        var reference = await rig.SubmitAsync("sigterm-reference", Epochs, TrainSubset);

        first.Signal("TERM");
        // The grace period is 30 s here (Worker__ShutdownTimeout); the bound below only keeps a
        // hung process from hanging the test.
        Assert.True(await first.WaitForExitAsync(TimeSpan.FromMinutes(2)), "the worker did not exit after SIGTERM:\n" + first.Output);
        Assert.Equal(0, first.ExitCode);
        Assert.True(first.Output.Contains($"Job {id} interrupted by the worker stopping"), "the job was not handed back:\n" + rig.Diagnostics());
        var stopped = StoppedAt().Match(first.Output);
        Assert.True(stopped.Success, "the worker did not checkpoint the epoch in progress:\n" + first.Output);
        var (epoch, stepsDone) = (int.Parse(stopped.Groups["epoch"].Value), int.Parse(stopped.Groups["steps"].Value));
        Assert.InRange(stepsDone, 1, StepsPerEpoch - 1);
        // The epochs before it are checkpointed as usual; the mid-epoch one is not listed as a checkpoint.
        var checkpointsBefore = await rig.CheckpointsAsync(id);
        Assert.Equal(Enumerable.Range(1, epoch - 1), checkpointsBefore.Select(c => (int)c!["epoch"]!));

        var handedBack = await rig.JobAsync(id);
        Assert.Contains((string)handedBack["status"]!, new[] { "interrupted", "queued" });
        Assert.Equal(1, (int)handedBack["attempt"]!);
        Assert.Null(handedBack["error"]);
        // A stopping worker takes no new job: the one queued behind is still waiting, never started.
        var waiting = await rig.JobAsync(reference);
        Assert.Equal(("queued", 0), ((string)waiting["status"]!, (int)waiting["attempt"]!));

        // The queue still holds the job (Hangfire requeues a job its server stopped): the next worker resumes it.
        var second = rig.StartWorker("worker-next");
        var finished = await rig.WaitForJobAsync(id, FaultRig.IsTerminal, "finished");
        Assert.Equal("succeeded", (string)finished["status"]!);
        Assert.Equal(2, (int)finished["attempt"]!);
        Assert.Contains($"resumes epoch {epoch} at step {stepsDone + 1},", second.Output);
        var checkpointsAfter = await rig.CheckpointsAsync(id);
        foreach (var before in checkpointsBefore)
            Assert.Equal((string)before!["createdAt"]!, (string)checkpointsAfter.Single(c => (int)c!["epoch"]! == (int)before["epoch"]!)!["createdAt"]!);

        // One record per epoch, and the same figures as a run never stopped: the resumed epoch's
        // train loss and accuracy add up the steps of both attempts exactly.
        var ledger = await rig.AssertEachEpochTrainedOnceAsync(id, Epochs);
        Assert.Equal(Enumerable.Range(1, Epochs), ledger.Select(e => e.Epoch));
        // The stopped epoch: attempt 1's steps up to its checkpoint, then attempt 2's from there, none twice.
        var resumed = ledger.Single(e => e.Epoch == epoch);
        Assert.Equal((2, stepsDone), (resumed.Attempt, resumed.ResumedFromStep));
        Assert.Equal([(1, stepsDone)], resumed.EarlierAttempts);
        var (_, referenceJob, figuresEqual) = await rig.AssertSameMetricsAsAsync(id, reference);
        Assert.Equal("worker-next", (string?)referenceJob["worker"]);

        await rig.ReportAsync("worker SIGTERM mid-epoch", [(id, Epochs), (reference, Epochs)], new Dictionary<string, object>
        {
            ["exitCode"] = first.ExitCode,
            ["attempt"] = (int)finished["attempt"]!,
            ["resumedAtEpoch"] = epoch,
            ["resumedAtStep"] = stepsDone + 1,
            ["stepsPerEpoch"] = StepsPerEpoch,
            ["resumedEpochStepsByAttempt"] = EpochInvariants.Describe(resumed),
            ["queuedBehindLeftFor"] = (string?)referenceJob["worker"] ?? "",
            ["figuresEqualToUninterrupted"] = figuresEqual,
        });
    }

    [GeneratedRegex(@"stopped in epoch (?<epoch>\d+) after step (?<steps>\d+) and checkpointed there")]
    private static partial Regex StoppedAt();
}
