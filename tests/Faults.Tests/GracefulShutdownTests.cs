using TrainingService.Faults.Tests.Infrastructure;

namespace TrainingService.Faults.Tests;

/// <summary>
/// SIGTERM, as a container runtime or systemd stops a worker: the running job stops at the next
/// step boundary, is handed back for resumption (interrupted, then queued again), and the process
/// exits 0 within the grace period (Worker:ShutdownTimeout). Shutdown is not cancellation: the job
/// never ends cancelled or failed, and the next worker resumes it from its last checkpoint.
/// </summary>
public sealed class GracefulShutdownTests(ITestOutputHelper output)
{
    // Three, so a SIGTERM that lands in epoch 2's evaluation (no step boundary there) still
    // finds one in epoch 3 and the job is handed back rather than finishing.
    private const int Epochs = 3;

    [Fact]
    public async Task AWorkerStoppedWithSigtermHandsItsJobBackAndExitsZeroAndTheNextWorkerResumesIt()
    {
        await using var rig = await FaultRig.StartOnPostgresAsync(output);
        var first = rig.StartWorker("worker-stopping");
        var id = await rig.SubmitAsync("sigterm", Epochs);
        await rig.WaitForSecondEpochAsync(id);

        first.Signal("TERM");
        // The grace period is 30 s here (Worker__ShutdownTimeout); the bound below only keeps a
        // hung process from hanging the test.
        Assert.True(await first.WaitForExitAsync(TimeSpan.FromMinutes(2)), "the worker did not exit after SIGTERM:\n" + first.Output);
        Assert.Equal(0, first.ExitCode);
        Assert.True(first.Output.Contains($"Job {id} interrupted by the worker stopping"), "the job was not handed back:\n" + rig.Diagnostics());
        // What the stopped worker left: epoch 1's checkpoint, and epoch 2's if it ended before the stop.
        var checkpointsBefore = await rig.CheckpointsAsync(id);
        Assert.InRange(checkpointsBefore.Count, 1, Epochs - 1);

        var handedBack = await rig.JobAsync(id);
        Assert.Contains((string)handedBack["status"]!, new[] { "interrupted", "queued" });
        Assert.Equal(1, (int)handedBack["attempt"]!);
        Assert.Null(handedBack["error"]);

        // The queue still holds the job (Hangfire requeues a job its server stopped): the next worker resumes it.
        var second = rig.StartWorker("worker-next");
        var finished = await rig.WaitForJobAsync(id, FaultRig.IsTerminal, "finished");
        Assert.Equal("succeeded", (string)finished["status"]!);
        Assert.Equal(2, (int)finished["attempt"]!);
        Assert.Contains($"resumes after epoch {checkpointsBefore.Count}", second.Output);
        var checkpointsAfter = await rig.CheckpointsAsync(id);
        foreach (var before in checkpointsBefore)
            Assert.Equal((string)before!["createdAt"]!, (string)checkpointsAfter.Single(c => (int)c!["epoch"]! == (int)before["epoch"]!)!["createdAt"]!);
        Assert.Equal(Enumerable.Range(1, Epochs), (await rig.MetricsAsync(id)).Select(m => (int)m!["epoch"]!));

        await rig.ReportAsync("worker SIGTERM mid-epoch", [(id, Epochs)], new Dictionary<string, object>
        {
            ["exitCode"] = first.ExitCode,
            ["attempt"] = 2,
            ["resumedAfterEpoch"] = checkpointsBefore.Count,
        });
    }
}
