using TrainingService.Faults.Tests.Infrastructure;

namespace TrainingService.Faults.Tests;

/// <summary>
/// Failures that would happen again on every retry — a device the worker does not have, a loss
/// that diverges to NaN — must fail the job at once with <c>error.kind = user</c> and a message
/// that says what to change, not burn the configured attempts (here 3) or loop.
/// </summary>
public sealed class DeterministicFailureTests(ITestOutputHelper output)
{
    [Fact]
    public async Task CudaOnACpuOnlyWorkerAndADivergingLossFailOnceWithAClearError()
    {
        await using var rig = await FaultRig.StartOnPostgresAsync(output, new Dictionary<string, string> { ["Worker__MaxAttempts"] = "3" });
        // A CPU-only machine that nonetheless takes work from the gpu queue (a fleet misconfigured,
        // or a GPU whose driver is gone): the job reaches a worker that cannot give it CUDA.
        rig.StartWorker("worker-cpu-only", new Dictionary<string, string>
        {
            ["Worker__Queues__0"] = "gpu",
            ["Worker__Queues__1"] = "cpu",
            ["Worker__Queues__2"] = "default",
        });
        var cuda = await rig.SubmitAsync("wants-cuda", 2, trainSubset: 1000, device: "cuda");
        // SGD at the highest learning rate the API accepts, with no warm-up: the loss overflows within steps.
        var diverging = await rig.SubmitAsync("diverges", 3, trainSubset: 3000, learningRate: 10, optimizer: "sgd", lrSchedule: "constant");

        var cudaJob = await rig.WaitForJobAsync(cuda, FaultRig.IsTerminal, "finished");
        var divergedJob = await rig.WaitForJobAsync(diverging, FaultRig.IsTerminal, "finished");

        Assert.Equal("failed", (string)cudaJob["status"]!);
        Assert.Equal("user", (string)cudaJob["error"]!["kind"]!);
        Assert.Contains("CUDA is not usable", (string)cudaJob["error"]!["message"]!);
        Assert.Equal(1, (int)cudaJob["attempt"]!);

        Assert.Equal("failed", (string)divergedJob["status"]!);
        Assert.Equal("user", (string)divergedJob["error"]!["kind"]!);
        Assert.Contains("diverged", (string)divergedJob["error"]!["message"]!);
        Assert.Equal(1, (int)divergedJob["attempt"]!);

        // Never looped: no second attempt shows up later either (Hangfire's first retry would come after 5 s).
        await Task.Delay(TimeSpan.FromSeconds(8));
        Assert.Equal(1, (int)(await rig.JobAsync(cuda))["attempt"]!);
        Assert.Equal(1, (int)(await rig.JobAsync(diverging))["attempt"]!);

        output.WriteLine($"cuda: {cudaJob["error"]!["message"]}");
        output.WriteLine($"NaN: {divergedJob["error"]!["message"]}");
        await rig.ReportAsync("deterministic failures (cuda on a CPU-only worker, NaN loss)", [(cuda, 0), (diverging, 0)], new Dictionary<string, object>
        {
            ["failedAtOnce"] = 2,
            ["attemptsUsed"] = 1,
            ["maxAttempts"] = 3,
        });
    }
}
