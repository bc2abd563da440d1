using TrainingService.Faults.Tests.Infrastructure;

namespace TrainingService.Faults.Tests;

/// <summary>
/// Failures that would happen again on every retry — a device the fleet does not have, a loss
/// that diverges to NaN, a batch too big for the memory there is — must fail the job with
/// <c>error.kind = user</c> and a message that says what to change, not burn the configured
/// attempts (here 3), loop, or wait forever.
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
        // SGD at the highest learning rate the API accepts, with no warm-up: for most seeds the loss
        // overflows within a dozen steps; for some (7, since dropout is reseeded every step) every
        // ReLU dies first and the loss stays finite. A CPU run is bit-identical for its seed, so a
        // seed seen to diverge (1: NaN within 15 steps) diverges every time.
        var diverging = await rig.SubmitAsync("diverges", 3, trainSubset: 3000, learningRate: 10, optimizer: "sgd", lrSchedule: "constant", seed: 1);

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
            ["cudaJobAttempts"] = (int)(await rig.JobAsync(cuda))["attempt"]!,
            ["nanJobAttempts"] = (int)(await rig.JobAsync(diverging))["attempt"]!,
            ["errorKinds"] = $"{cudaJob["error"]!["kind"]}, {divergedJob["error"]!["kind"]}",
            ["maxAttempts"] = rig.Environment["Worker__MaxAttempts"],
        });
    }

    /// <summary>Room left above what the warmed-up worker has mapped: a tiny convnet job needs tens of MB of it.</summary>
    private const long MemoryHeadroom = 1L << 30;

    /// <summary>ResNet18's first convolution alone outputs 32768 × 64 × 14 × 14 floats (1.5 GiB) for this batch: more than the headroom, whatever else is allocated.</summary>
    private const int OversizedBatch = 32_768;

    [Fact]
    public async Task ABatchTooBigForTheMemoryLeftFailsOnceAsAUserErrorAndTheWorkerGoesOn()
    {
        await using var rig = await FaultRig.StartOnPostgresAsync(output, new Dictionary<string, string> { ["Worker__MaxAttempts"] = "3" });
        var worker = rig.StartWorker("worker-oom");
        // A first job loads what every job shares (libtorch, the MNIST tensors), so the limit below
        // is measured on the worker as it is between jobs.
        var before = await rig.SubmitAsync("before-oom", 1, trainSubset: 1000);
        Assert.Equal("succeeded", (string)(await rig.WaitForJobAsync(before, FaultRig.IsTerminal, "finished"))["status"]!);

        var limit = FaultRig.LimitAddressSpace(worker, MemoryHeadroom);
        var oversized = await rig.SubmitAsync("oversized-batch", 1, trainSubset: OversizedBatch, architecture: "resnet18", batchSize: OversizedBatch);
        var failed = await rig.WaitForJobAsync(oversized, FaultRig.IsTerminal, "finished");

        Assert.Equal("failed", (string)failed["status"]!);
        Assert.Equal("user", (string)failed["error"]!["kind"]!);
        var message = (string)failed["error"]!["message"]!;
        Assert.Contains("ran out of memory", message);
        Assert.Contains($"batch size {OversizedBatch}", message);
        Assert.Contains("lower batchSize", message);
        Assert.Contains("can't allocate memory", message); // libtorch's own words: the allocation failed in the worker, which lived
        Assert.Equal(1, (int)failed["attempt"]!);
        Assert.Empty(await rig.MetricsAsync(oversized));

        // Hangfire saw the attempt end normally: succeeded, never failed or scheduled for a retry.
        await rig.WaitUntilAsync(async () => (await rig.HangfireStatesAsync(oversized)).LastOrDefault() == "Succeeded",
            "Hangfire to record the oversized job's run as ended", TimeSpan.FromSeconds(60));

        // The worker survived the failed allocation: the same process, under the same limit, trains the next job.
        Assert.False(worker.HasExited, "the worker exited:\n" + worker.Output);
        var after = await rig.SubmitAsync("after-oom", 1, trainSubset: 1000);
        var afterJob = await rig.WaitForJobAsync(after, FaultRig.IsTerminal, "finished");
        Assert.Equal("succeeded", (string)afterJob["status"]!);
        Assert.Equal(1, (int)afterJob["attempt"]!);
        Assert.Equal("worker-oom", (string)afterJob["worker"]!);
        Assert.False(worker.HasExited, "the worker exited:\n" + worker.Output);

        // Never looped: by now, a whole job later, the oversized job still has its one attempt and one run in Hangfire.
        Assert.Equal(1, (int)(await rig.JobAsync(oversized))["attempt"]!);
        var states = await rig.HangfireStatesAsync(oversized);
        Assert.Single(states, state => state == "Processing");
        Assert.DoesNotContain("Failed", states);
        Assert.DoesNotContain("Scheduled", states);
        Assert.Equal("Succeeded", states[^1]);

        output.WriteLine($"address space limit {limit} bytes ({MemoryHeadroom >> 20} MiB above the warmed-up worker's)");
        output.WriteLine($"out of memory: {message}");
        output.WriteLine($"Hangfire states: {string.Join(" → ", states)}");
        await rig.ReportAsync("out of memory (resnet18 batch 32768, address space capped)", [(before, 1), (oversized, 0), (after, 1)], new Dictionary<string, object>
        {
            ["oversizedJobAttempts"] = (int)(await rig.JobAsync(oversized))["attempt"]!,
            ["errorKind"] = (string)failed["error"]!["kind"]!,
            ["hangfireStates"] = string.Join(" → ", states),
            ["maxAttempts"] = rig.Environment["Worker__MaxAttempts"],
            ["headroomMiB"] = MemoryHeadroom >> 20,
            ["workerSurvived"] = !worker.HasExited,
            ["nextJobWorker"] = (string)afterJob["worker"]!,
        });
    }
}
