using System.Diagnostics;
using System.Text.Json.Nodes;
using TrainingService.Faults.Tests.Infrastructure;

namespace TrainingService.Faults.Tests.Soak;

/// <summary>
/// The chaos soak (issue 15, section 2): a batch of training and eval jobs on PostgreSQL, three
/// worker processes and the API as separate processes, under a seeded schedule of faults —
/// workers SIGKILLed, SIGTERMed and frozen past their lease, the API SIGKILLed, PostgreSQL stopped
/// for 10–30 s, the checkpoint volume filled — and at the end invariants checked from the records
/// (<see cref="SoakInvariants"/>). The short form (20 tiny jobs, 7 faults) runs with the other fault
/// tests; the long one (45 jobs, 24 faults) is <c>TRAININGSERVICE_SOAK=long</c> with
/// <c>--filter Category=Soak</c> (docs/reliability.md). Prints a FAULT-FIGURES line with the counts.
/// </summary>
[Trait("Category", "Soak")]
public sealed class ChaosSoakTests(ITestOutputHelper output)
{
    /// <summary>What the soak changes from the fault tests' settings: room for many faults per job, and faster redelivery.</summary>
    private static readonly Dictionary<string, string> Settings = new()
    {
        // Every start counts, graceful hand-backs included; a job may meet several faults.
        ["Worker__MaxAttempts"] = "10",
        // A frozen or killed worker's queue entry comes back in 20 s, not 5 minutes, so the soak
        // also ends with no entry left "processing".
        ["Worker__InvisibilityTimeout"] = "00:00:20",
        ["Worker__ShutdownTimeout"] = "00:00:10",
        // Mid-epoch checkpoints every second: kills land after some, so epochs resume part-way.
        ["Worker__MidEpochCheckpointInterval"] = "00:00:01",
    };

    [Fact]
    public async Task UnderASeededScheduleOfFaultsEveryJobEndsAsItWouldUndisturbedAndNoEpochIsTrainedTwice()
    {
        var plan = SoakPlan.FromEnvironment();
        output.WriteLine($"soak: {plan.Form} form, seed {plan.Seed}, {plan.TrainJobs} training and {plan.EvalJobs} eval jobs, faults: {string.Join("; ", plan.Faults)}");
        Assert.True(Mount.IsRoot(), "The soak fills a tmpfs checkpoint volume of its own, and mounting one needs root. Run it as root (CI does).");
        var clock = Stopwatch.StartNew();
        var volume = Directory.CreateTempSubdirectory("trainingservice-soak-volume-").FullName;
        await Mount.RunAsync("mount", "-t", "tmpfs", "-o", "size=512m,mode=0755", "tmpfs", volume);
        try
        {
            await using var rig = await FaultRig.StartOnPostgresAsync(output, Settings, checkpointRoot: volume);
            using var keepLogs = KeepLogs(rig);
            var tag = "soak-" + Guid.NewGuid().ToString("N")[..8];
            await using var board = new JobBoard(rig, tag);
            var agent = new ChaosAgent(rig, plan, board, volume, output);
            agent.StartWorkers();

            // The undisturbed runs to compare with: each configuration trained, and its final checkpoint evaluated, with no fault anywhere.
            var references = await RunReferencesAsync(rig, plan);
            var referencesDone = clock.Elapsed;

            // The soak: every training job submitted at once, an eval of each of the first to succeed, faults meanwhile.
            var trains = new Dictionary<string, JobConfig>();
            for (var i = 0; i < plan.TrainJobs; i++)
            {
                var config = plan.Configs[i % plan.Configs.Count];
                trains[await rig.SubmitAsync($"soak-{i}", config.Epochs, config.TrainSubset, seed: config.Seed, tag: tag)] = config;
            }
            var evals = new Dictionary<string, string>(); // eval → its training job
            board.Start();
            var allDone = false;
            var chaos = Task.Run(() => agent.RunAsync(() => Volatile.Read(ref allDone)));
            while (!allDone)
            {
                if (clock.Elapsed > plan.Timeout + referencesDone)
                    Assert.Fail($"The soak's jobs did not all end within {plan.Timeout}:\n{await UnfinishedAsync(rig, board)}\n{rig.Diagnostics()}");
                Assert.False(chaos.IsFaulted, "the fault agent failed: " + chaos.Exception);
                await SubmitEvalsAsync(rig, plan, board.Jobs, trains, evals, tag);
                var jobs = board.Jobs;
                allDone = jobs.Count == trains.Count + evals.Count && jobs.Values.All(JobBoard.IsTerminal)
                    && (evals.Count == plan.EvalJobs || trains.Keys.All(t => (string)jobs[t]["status"]! != "succeeded" || evals.ContainsValue(t)));
                await Task.Delay(1000);
            }
            await chaos;
            var jobsDone = clock.Elapsed;

            var checks = new SoakInvariants(rig, output);
            await checks.CheckAsync(trains, evals, references, volume);

            var takeovers = agent.TakeoverSeconds;
            var ended = await Task.WhenAll(trains.Keys.Concat(evals.Keys).Select(rig.JobAsync));
            await rig.ReportAsync($"chaos soak ({plan.Form}, seed {plan.Seed})",
                [.. trains.Select(t => (t.Key, t.Value.Epochs)), .. evals.Keys.Select(e => (e, 0))],
                new Dictionary<string, object>
                {
                    ["trainJobs"] = trains.Count,
                    ["evalJobs"] = evals.Count,
                    ["workers"] = SoakPlan.Workers,
                    ["faultsInjected"] = agent.Injected.Values.Sum(),
                    ["faultsByKind"] = string.Join(", ", agent.Injected.Select(k => $"{k.Key} {k.Value}")),
                    ["succeeded"] = ended.Count(j => (string)j["status"]! == "succeeded"),
                    ["failedForADocumentedReason"] = checks.FailedForADocumentedReason,
                    ["takeoversMeasured"] = takeovers.Count,
                    ["worstHandBackSeconds"] = agent.HandBackSeconds.Count == 0 ? 0 : Math.Round(agent.HandBackSeconds.Max(), 1),
                    ["worstTakeoverSeconds"] = takeovers.Count == 0 ? 0 : Math.Round(takeovers.Max(), 1),
                    ["attemptsBeyondTheFirst"] = ended.Sum(j => Math.Max(0, (int)j["attempt"]! - 1)),
                    ["figuresComparedBitForBit"] = checks.FiguresCompared,
                    ["orphanedTemporaryFiles"] = checks.OrphanedTemporaryFiles,
                    ["attemptsByReason"] = string.Join(", ", checks.AttemptReasons.Select(r => $"{r.Key} {r.Value}")),
                    ["hangfireProcessingLeft"] = checks.HangfireProcessingLeft,
                    ["referenceRunSeconds"] = Math.Round(referencesDone.TotalSeconds),
                    ["soakSeconds"] = Math.Round((jobsDone - referencesDone).TotalSeconds),
                    ["totalSeconds"] = Math.Round(clock.Elapsed.TotalSeconds),
                });
            Assert.True(checks.Violations.Count == 0, "soak invariants broken:\n" + string.Join("\n", checks.Violations) + "\n" + rig.Diagnostics());
        }
        finally
        {
            await Mount.RunAsync("umount", "-l", volume);
            Directory.Delete(volume, recursive: true);
        }
    }

    /// <summary>
    /// Where <c>TRAININGSERVICE_SOAK_LOGS</c> names a folder, every process's whole output is written
    /// there at the end (pass or fail), to follow a fault through the workers' and the API's logs.
    /// </summary>
    private static IDisposable? KeepLogs(FaultRig rig) =>
        Environment.GetEnvironmentVariable("TRAININGSERVICE_SOAK_LOGS") is { Length: > 0 } folder ? new LogKeeper(rig, folder) : null;

    private sealed class LogKeeper(FaultRig rig, string folder) : IDisposable
    {
        public void Dispose()
        {
            Directory.CreateDirectory(folder);
            foreach (var ((name, process), i) in rig.Processes.Select((p, i) => (p, i)))
                File.WriteAllText(Path.Combine(folder, $"{i:D2}-{name}.log"), process.Output);
        }
    }

    /// <summary>For a soak that ran out of time: each unfinished job, its Hangfire states and what the processes logged about it.</summary>
    private static async Task<string> UnfinishedAsync(FaultRig rig, JobBoard board)
    {
        var report = new System.Text.StringBuilder();
        foreach (var job in board.Jobs.Values.Where(j => !JobBoard.IsTerminal(j)))
        {
            var id = (string)job["id"]!;
            report.AppendLine(job.ToJsonString());
            try { report.AppendLine("  Hangfire: " + string.Join(" → ", await rig.HangfireStatesAsync(id))); }
            catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException) { report.AppendLine("  Hangfire: " + e.Message); }
            foreach (var (name, process) in rig.Processes)
                foreach (var line in process.Output.Split('\n').Where(l => l.Contains(id, StringComparison.Ordinal) || l.Contains(id.Replace("-", "", StringComparison.Ordinal), StringComparison.Ordinal)).TakeLast(6))
                    report.AppendLine($"  {name}: {(line.Length > 400 ? line[..400] : line)}");
        }
        return report.ToString();
    }

    /// <summary>Each configuration trained, then its final checkpoint evaluated, with no fault: by configuration, the training job and the eval job.</summary>
    private static async Task<Dictionary<JobConfig, (JsonObject Train, JsonArray Metrics, JsonObject Eval)>> RunReferencesAsync(FaultRig rig, SoakPlan plan)
    {
        var trains = new Dictionary<JobConfig, string>();
        foreach (var config in plan.Configs)
            trains[config] = await rig.SubmitAsync($"reference-{config.Seed}", config.Epochs, config.TrainSubset, seed: config.Seed, tag: "soak-reference");
        var references = new Dictionary<JobConfig, (JsonObject, JsonArray, JsonObject)>();
        foreach (var (config, id) in trains)
        {
            var train = await rig.WaitForJobAsync(id, FaultRig.IsTerminal, "finished (undisturbed)");
            Assert.Equal("succeeded", (string)train["status"]!);
            var eval = await rig.WaitForJobAsync(await rig.SubmitEvalAsync(id, $"reference-eval-{config.Seed}", "soak-reference"), FaultRig.IsTerminal, "finished (undisturbed)");
            Assert.Equal("succeeded", (string)eval["status"]!);
            references[config] = (train, await rig.MetricsAsync(id), eval);
        }
        return references;
    }

    /// <summary>An eval of each training job that has succeeded, until there are as many as planned; one the API cannot take now is tried again next time.</summary>
    private static async Task SubmitEvalsAsync(
        FaultRig rig, SoakPlan plan, IReadOnlyDictionary<string, JsonObject> jobs, Dictionary<string, JobConfig> trains, Dictionary<string, string> evals, string tag)
    {
        foreach (var train in trains.Keys.Where(t => jobs.TryGetValue(t, out var j) && (string)j["status"]! == "succeeded" && !evals.ContainsValue(t)))
        {
            if (evals.Count >= plan.EvalJobs)
                return;
            try
            {
                // The same Idempotency-Key on every try: a retry after a lost answer returns the job it made.
                evals[await rig.SubmitEvalAsync(train, $"soak-eval-{evals.Count}", tag, idempotencyKey: $"{tag}-eval-{train}")] = train;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ObjectDisposedException or Xunit.Sdk.XunitException)
            {
                // The API is restarting or the database away: next round.
            }
        }
    }
}
