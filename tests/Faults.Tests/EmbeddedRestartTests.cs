using TrainingService.Faults.Tests.Infrastructure;

namespace TrainingService.Faults.Tests;

/// <summary>
/// The local, embedded layout — one API process on SQLite running jobs itself — killed with SIGKILL
/// while one job trains and another waits, then started again on the same files: the waiting job
/// still runs, and the interrupted one resumes from its last checkpoint.
/// </summary>
public sealed class EmbeddedRestartTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AfterTheEmbeddedServiceIsKilledAndStartedAgainQueuedJobsRunAndTheRunningJobResumes()
    {
        await using var rig = await FaultRig.StartEmbeddedAsync(output);
        var running = await rig.SubmitAsync("embedded-running", 2, FaultRig.SecondEpochTrainSubset);
        var waiting = await rig.SubmitAsync("embedded-waiting", 1, trainSubset: 1000);
        await rig.WaitForSecondEpochAsync(running);
        Assert.Equal("queued", (string)(await rig.JobAsync(waiting))["status"]!);
        var checkpointsBefore = await rig.CheckpointsAsync(running);

        await rig.Api.KillAsync();
        var killed = rig.Api;
        await rig.StartApiAsync();

        var waitingDone = await rig.WaitForJobAsync(waiting, FaultRig.IsTerminal, "finished after the restart");
        var runningDone = await rig.WaitForJobAsync(running, FaultRig.IsTerminal, "finished after the restart");
        Assert.Equal("succeeded", (string)waitingDone["status"]!);
        Assert.Equal(1, (int)waitingDone["attempt"]!);
        Assert.Equal("succeeded", (string)runningDone["status"]!);
        Assert.Equal(2, (int)runningDone["attempt"]!);
        Assert.Contains($"Job {running} attempt 2 resumes after epoch {checkpointsBefore.Count}", rig.Api.Output);
        Assert.DoesNotContain($"Job {running} succeeded", killed.Output);
        var checkpointsAfter = await rig.CheckpointsAsync(running);
        foreach (var before in checkpointsBefore)
            Assert.Equal((string)before!["createdAt"]!, (string)checkpointsAfter.Single(c => (int)c!["epoch"]! == (int)before["epoch"]!)!["createdAt"]!);

        var ledger = await rig.AssertEachEpochTrainedOnceAsync(running, 2);
        Assert.All(ledger.Where(e => e.Epoch <= checkpointsBefore.Count), e => Assert.Equal(1, e.Attempt));
        Assert.All(ledger.Where(e => e.Epoch > checkpointsBefore.Count), e => Assert.Equal(2, e.Attempt));

        await rig.ReportAsync("embedded service SIGKILL and restart", [(running, 2), (waiting, 1)], new Dictionary<string, object>
        {
            ["runningJobAttempt"] = (int)runningDone["attempt"]!,
            ["waitingJobAttempt"] = (int)waitingDone["attempt"]!,
            ["resumedAfterEpoch"] = checkpointsBefore.Count,
        });
    }
}
