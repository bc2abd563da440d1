using TrainingService.Faults.Tests.Infrastructure;
using TrainingService.Tests.Shared;

namespace TrainingService.Faults.Tests;

/// <summary>
/// Hangfire delivers at least once: a job whose queue entry outlives the invisibility timeout, or
/// whose worker looks dead, is handed out again. Two workers, a queue invisibility timeout far
/// shorter than the job, and a worker frozen (SIGSTOP) past the stale threshold, then thawed
/// (SIGCONT): the job must never be trained by both, and the frozen attempt's writes must be refused.
/// </summary>
public sealed class DoubleExecutionTests(ITestOutputHelper output)
{
    private const int Epochs = 3;

    [Fact]
    public async Task ASecondWorkerNeverTrainsAJobThatALiveAttemptHoldsAndAStaleAttemptCanWriteNothing()
    {
        await using var rig = await FaultRig.StartOnPostgresAsync(output, new Dictionary<string, string>
        {
            ["Worker__InvisibilityTimeout"] = "00:00:03",
        });
        var first = rig.StartWorker("worker-a");
        var id = await rig.SubmitAsync("double-execution", Epochs, FaultRig.SecondEpochTrainSubset);
        await rig.WaitForJobAsync(id, j => (string)j["status"]! == "running" && (string?)j["worker"] == "worker-a", "running on worker-a");
        var second = rig.StartWorker("worker-b");

        // The job outlives the 3-second invisibility timeout several times over while worker-b polls
        // the same queue: the sliding timeout keeps it worker-a's, and attempt stays 1.
        await rig.WaitForSecondEpochAsync(id);
        var whileLive = await rig.JobAsync(id);
        Assert.Equal(1, (int)whileLive["attempt"]!);
        Assert.Equal("worker-a", (string?)whileLive["worker"]);
        Assert.DoesNotContain($"Job {id} attempt 1 started on worker-b", second.Output);

        // Freeze worker-a: no heartbeats, no queue keep-alive. The queue hands the job out again and
        // the reaper declares the attempt stale; worker-b takes it up as attempt 2.
        first.Signal("STOP");
        try
        {
            await rig.WaitForJobAsync(id, j => (int)j["attempt"]! == 2 && (string?)j["worker"] == "worker-b", "taken over by worker-b");
        }
        finally
        {
            first.Signal("CONT");
        }

        // Thawed, worker-a's next write carries the old lease: refused, and it stops its attempt.
        await rig.WaitUntilAsync(() => Task.FromResult(first.Output.Contains("refused a write")),
            "worker-a to have a write refused and stop", TimeSpan.FromMinutes(2));

        var finished = await rig.WaitForJobAsync(id, FaultRig.IsTerminal, "finished");
        Assert.Equal("succeeded", (string)finished["status"]!);
        Assert.Equal(2, (int)finished["attempt"]!);
        Assert.Equal("worker-b", (string?)finished["worker"] ?? "worker-b");
        // worker-a never recorded the end of the job: only the lease holder can.
        Assert.DoesNotContain($"Job {id} succeeded", first.Output);
        Assert.Contains($"Job {id} succeeded", second.Output);
        // Each epoch recorded once, by one attempt, with the epoch's steps: the frozen attempt, thawed,
        // neither recorded nor re-trained any epoch the live one had (its writes fenced off, and
        // nothing kept as a conflict), and the epoch it was frozen in was finished by attempt 2.
        var ledger = await rig.AssertEachEpochTrainedOnceAsync(id, Epochs);
        Assert.Equal(Enumerable.Range(1, Epochs), ledger.Select(e => e.Epoch));
        Assert.Equal(2, ledger[^1].Attempt);

        await rig.ReportAsync("double execution (short invisibility timeout, frozen worker)", [(id, Epochs)], new Dictionary<string, object>
        {
            ["attempt"] = (int)finished["attempt"]!,
            ["staleAttemptWritesRefused"] = CountOf(first.Output, "refused a write"),
            ["epochsByAttempt"] = string.Join(", ", ledger.Select(e => $"{e.Epoch}: {EpochInvariants.Describe(e)}")),
        });
    }

    private static int CountOf(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
            count++;
        return count;
    }
}
