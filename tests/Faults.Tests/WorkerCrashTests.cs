using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TrainingService.Faults.Tests.Infrastructure;
using TrainingService.Tests.Shared;

namespace TrainingService.Faults.Tests;

/// <summary>
/// A worker process killed with SIGKILL in the middle of an epoch: nothing in it gets to record
/// anything. Its job must not stay "running": the reaper (in the API) sees its heartbeat go stale
/// and hands it back to the queue, and the next worker resumes it from its last checkpoint — here
/// a mid-epoch one, since the worker checkpoints the epoch in progress every second
/// (Worker__MidEpochCheckpointInterval), so the kill costs at most that much training.
/// </summary>
public sealed partial class WorkerCrashTests(ITestOutputHelper output)
{
    private const int Epochs = 2;
    private const int TrainSubset = FaultRig.LongEpochTrainSubset;
    private const int StepsPerEpoch = FaultRig.LongEpochSteps;
    private static readonly Dictionary<string, string> CheckpointEverySecond = new() { ["Worker__MidEpochCheckpointInterval"] = "00:00:01" };

    [Fact]
    public async Task AJobWhoseWorkerIsKilledMidEpochResumesFromItsLastCheckpointAndEndsAsAnUninterruptedRunWould()
    {
        await using var rig = await FaultRig.StartOnPostgresAsync(output);
        var first = rig.StartWorker("worker-1", CheckpointEverySecond);
        var id = await rig.SubmitAsync("sigkill", Epochs, TrainSubset);
        // Well into epoch 2: seconds' worth of steps, so a mid-epoch checkpoint exists.
        await rig.WaitForEpoch2StepsAsync(id, 40, StepsPerEpoch / 2);
        var checkpointsBefore = await rig.CheckpointsAsync(id);

        await first.KillAsync();
        var killedAt = DateTime.UtcNow;

        // The job is handed back (interrupted) by the reaper, or already taken up again.
        var second = rig.StartWorker("worker-2");
        var resumed = await rig.WaitForJobAsync(id, j => (int)j["attempt"]! == 2, "taken up again by worker-2 (attempt 2)");
        var takenUpAfter = DateTime.UtcNow - killedAt;
        output.WriteLine($"taken up again {takenUpAfter.TotalSeconds:F1} s after the kill (StaleAfter {FaultRig.StaleAfter.TotalSeconds:F0} s + reaper interval {FaultRig.ReaperInterval.TotalSeconds:F0} s + start-up)");
        // The documented bound: StaleAfter + ReaperInterval, plus a worker's start-up (a minute,
        // generously, on a loaded 2-core machine). Without the reaper, only the queue's
        // invisibility timeout (5 minutes) would bring the job back.
        Assert.True(takenUpAfter < FaultRig.StaleAfter + FaultRig.ReaperInterval + TimeSpan.FromMinutes(1),
            $"taken up again only {takenUpAfter.TotalSeconds:F0} s after the kill:\n{rig.Diagnostics()}");
        var finished = await rig.WaitForJobAsync(id, FaultRig.IsTerminal, "finished");
        Assert.Equal("succeeded", (string)finished["status"]!);
        Assert.Equal(2, (int)finished["attempt"]!);
        Assert.Equal("worker-2", (string?)resumed["worker"]);

        // Resumed, not restarted: the checkpoints written before the kill are the same files,
        // untouched, and the epoch the kill landed in continues after its last mid-epoch checkpoint.
        var checkpointsAfter = await rig.CheckpointsAsync(id);
        foreach (var before in checkpointsBefore)
        {
            var after = checkpointsAfter.Single(c => (int)c!["epoch"]! == (int)before!["epoch"]!)!;
            Assert.Equal((string)before!["createdAt"]!, (string)after["createdAt"]!);
            Assert.Equal((string)before["sha256"]!, (string)after["sha256"]!);
        }
        var resumedAt = ResumedAt().Match(second.Output);
        Assert.True(resumedAt.Success, "worker-2 did not resume mid-epoch:\n" + second.Output);
        var (epoch, step) = (int.Parse(resumedAt.Groups["epoch"].Value), int.Parse(resumedAt.Groups["step"].Value));
        Assert.Equal(checkpointsBefore.Count + 1, epoch);
        Assert.InRange(step, 2, StepsPerEpoch);

        // The job's own record of its attempts says the same: worker-1's ended worker-lost (the reaper's
        // word for a worker whose heartbeats stopped), worker-2's began where the log says and succeeded.
        var attempts = finished["attempts"]!.AsArray().Select(a => a!.AsObject()).ToList();
        Assert.Equal([(1, "worker-1", "worker-lost"), (2, "worker-2", "succeeded")],
            attempts.Select(a => ((int)a["number"]!, (string)a["worker"]!, (string?)a["reason"])));
        Assert.Equal((epoch, step - 1), ((int)attempts[1]["startedFromEpoch"]!, (long)attempts[1]["startedFromStep"]!));
        Assert.Equal("succeeded", (string?)finished["terminationReason"]);

        // Each epoch recorded once, by the attempt that finished it: epoch 1 by attempt 1; epoch 2 by
        // attempt 2, from the step of attempt 1's last mid-epoch checkpoint, the steps of both adding
        // up to the epoch's — the steps attempt 1 ran after that checkpoint died with it, uncounted.
        var ledger = await rig.AssertEachEpochTrainedOnceAsync(id, Epochs);
        Assert.Equal(Enumerable.Range(1, Epochs), ledger.Select(e => e.Epoch));
        Assert.Equal((1, 0, StepsPerEpoch), (ledger[0].Attempt, ledger[0].ResumedFromStep, ledger[0].StepsRun));
        Assert.Equal((2, step - 1, StepsPerEpoch - (step - 1)), (ledger[1].Attempt, ledger[1].ResumedFromStep, ledger[1].StepsRun));
        Assert.Equal([(1, step - 1)], ledger[1].EarlierAttempts);
        // And with a fixed seed on the CPU the same figures as a run never interrupted.
        var (reference, referenceJob, figuresEqual) = await rig.AssertSameMetricsAsAnUninterruptedRunAsync(id, "sigkill-reference", Epochs, TrainSubset);
        Assert.Equal((double)referenceJob["result"]!["finalTestAccuracy"]!, (double)finished["result"]!["finalTestAccuracy"]!);

        await rig.ReportAsync("worker SIGKILL mid-epoch", [(id, Epochs), (reference, Epochs)], new Dictionary<string, object>
        {
            ["takenUpAfterSeconds"] = Math.Round(takenUpAfter.TotalSeconds, 1),
            ["attempt"] = (int)finished["attempt"]!,
            ["resumedAtEpoch"] = epoch,
            ["resumedAtStep"] = step,
            ["stepsPerEpoch"] = StepsPerEpoch,
            ["epoch2StepsByAttempt"] = EpochInvariants.Describe(ledger[1]),
            ["figuresEqualToUninterrupted"] = figuresEqual,
        });
    }

    [GeneratedRegex(@"resumes epoch (?<epoch>\d+) at step (?<step>\d+),")]
    private static partial Regex ResumedAt();

    [Fact]
    public async Task TheReaperHandsADeadWorkersJobBackInsteadOfLeavingItRunning()
    {
        await using var rig = await FaultRig.StartOnPostgresAsync(output);
        var worker = rig.StartWorker("worker-doomed");
        var id = await rig.SubmitAsync("reaper", Epochs);
        await rig.WaitForJobAsync(id, j => (string)j["status"]! == "running" && j["progress"] is JsonObject, "running");

        await worker.KillAsync();

        // No worker is left to take it up: it must still leave "running", as interrupted (waiting for one).
        var killedAt = DateTime.UtcNow;
        var reaped = await rig.WaitForJobAsync(id, j => (string)j["status"]! != "running", "no longer running");
        var reapedAfter = DateTime.UtcNow - killedAt;
        Assert.Contains((string)reaped["status"]!, new[] { "interrupted", "queued" });
        Assert.Equal("infrastructure", (string)reaped["error"]!["kind"]!);
        Assert.Contains("stopped sending heartbeats", (string)reaped["error"]!["message"]!);
        Assert.Null((string?)reaped["worker"]);
        Assert.Contains("lost (last heartbeat", rig.Api.Output);

        // And it stays handed back: the reaper does not flip it again, nothing marks it running without a worker.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.NotEqual("running", (string)(await rig.JobAsync(id))["status"]!);

        // Lost here means left "running" with no worker: the job waits (interrupted) on purpose.
        await rig.ReportAsync("dead worker found by the reaper", [(id, 0)], new Dictionary<string, object>
        {
            ["statusAfterReaping"] = (string)reaped["status"]!,
            ["reapedAfterSeconds"] = Math.Round(reapedAfter.TotalSeconds, 1),
        }, jobsEnd: false);
    }
}
