using TrainingService.Faults.Tests.Infrastructure;

namespace TrainingService.Faults.Tests;

/// <summary>
/// Failures that would happen again on every retry — a device the fleet does not have, a loss
/// that diverges to NaN — must fail the job with <c>error.kind = user</c> and a message that says
/// what to change, not burn the configured attempts (here 3), loop, or wait forever.
/// </summary>
public sealed class DeterministicFailureTests(ITestOutputHelper output)
{
    [Fact]
    public async Task CudaOnACpuOnlyFleetAndADivergingLossFailOnceWithAClearError()
    {
        await using var rig = await FaultRig.StartOnPostgresAsync(output, new Dictionary<string, string>
        {
            ["Worker__MaxAttempts"] = "3",
            // Production waits 15 minutes for a GPU worker to appear (an autoscaler's time); here 5 s.
            ["JobsApi__UnservedQueueTimeout"] = "00:00:05",
            ["JobsApi__DispatchSweepInterval"] = "00:00:01",
        });
        // A CPU-only fleet: its one worker takes the cpu and default queues, never gpu, where a cuda job waits.
        rig.StartWorker("worker-cpu-only");
        var cuda = await rig.SubmitAsync("wants-cuda", 2, trainSubset: 1000, device: "cuda");
        // SGD at the highest learning rate the API accepts, with no warm-up: the loss overflows within steps.
        var diverging = await rig.SubmitAsync("diverges", 3, trainSubset: 3000, learningRate: 10, optimizer: "sgd", lrSchedule: "constant");

        var cudaJob = await rig.WaitForJobAsync(cuda, FaultRig.IsTerminal, "finished");
        var divergedJob = await rig.WaitForJobAsync(diverging, FaultRig.IsTerminal, "finished");

        Assert.Equal("failed", (string)cudaJob["status"]!);
        Assert.Equal("user", (string)cudaJob["error"]!["kind"]!);
        Assert.Contains("No live worker takes jobs from the gpu queue", (string)cudaJob["error"]!["message"]!);
        Assert.Equal(0, (int)cudaJob["attempt"]!); // failed without ever being tried

        Assert.Equal("failed", (string)divergedJob["status"]!);
        Assert.Equal("user", (string)divergedJob["error"]!["kind"]!);
        Assert.Contains("diverged", (string)divergedJob["error"]!["message"]!);
        Assert.Equal(1, (int)divergedJob["attempt"]!);

        // Never looped: no second attempt shows up later either (Hangfire's first retry would come after 5 s).
        await Task.Delay(TimeSpan.FromSeconds(8));
        Assert.Equal(0, (int)(await rig.JobAsync(cuda))["attempt"]!);
        Assert.Equal(1, (int)(await rig.JobAsync(diverging))["attempt"]!);

        output.WriteLine($"cuda: {cudaJob["error"]!["message"]}");
        output.WriteLine($"NaN: {divergedJob["error"]!["message"]}");
        await rig.ReportAsync("deterministic failures (cuda on a CPU-only fleet, NaN loss)", [(cuda, 0), (diverging, 0)], new Dictionary<string, object>
        {
            ["failedAtOnce"] = 2,
            ["attemptsUsed"] = 1,
            ["maxAttempts"] = 3,
        });
    }
}
