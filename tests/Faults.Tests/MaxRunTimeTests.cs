using TrainingService.Faults.Tests.Infrastructure;

namespace TrainingService.Faults.Tests;

/// <summary>
/// A job that runs past its maximum run time (Worker:MaxRunTime, 24 h by default; 30 s here)
/// ends failed with <c>error.kind = timeout</c>, stopped at a step boundary, with its checkpoints kept.
/// </summary>
public sealed class MaxRunTimeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AJobPastItsMaximumRunTimeFailsWithKindTimeoutAndKeepsItsCheckpoints()
    {
        await using var rig = await FaultRig.StartOnPostgresAsync(output, new Dictionary<string, string> { ["Worker__MaxRunTime"] = "00:00:30" });
        rig.StartWorker("worker-timeout");
        // Far more epochs than fit in 30 s, each short enough that at least one is checkpointed first.
        var id = await rig.SubmitAsync("max-run-time", 200, trainSubset: 1000);

        var finished = await rig.WaitForJobAsync(id, FaultRig.IsTerminal, "finished");
        Assert.Equal("failed", (string)finished["status"]!);
        Assert.Equal("timeout", (string)finished["error"]!["kind"]!);
        Assert.Contains("maximum run time", (string)finished["error"]!["message"]!);
        Assert.Equal(1, (int)finished["attempt"]!);

        var checkpoints = await rig.CheckpointsAsync(id);
        Assert.True(checkpoints.Count > 0, "no checkpoint was kept:\n" + rig.Diagnostics());
        var metrics = await rig.MetricsAsync(id);
        Assert.InRange(metrics.Count, 1, 199);
        using var download = await rig.Http.GetAsync($"/jobs/{id}/checkpoints/{(int)checkpoints[^1]!["epoch"]!}");
        Assert.True(download.IsSuccessStatusCode, $"the last checkpoint should still download; got {(int)download.StatusCode}");

        await rig.ReportAsync("maximum run time", [(id, metrics.Count)], new Dictionary<string, object>
        {
            ["epochsBeforeTimeout"] = metrics.Count,
            ["checkpointsKept"] = checkpoints.Count,
        });
    }
}
