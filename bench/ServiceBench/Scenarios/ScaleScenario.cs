using System.Diagnostics;
using System.Globalization;
using Npgsql;
using TrainingService.ServiceBench.Infrastructure;

namespace TrainingService.ServiceBench.Scenarios;

/// <summary>
/// Many workers, many jobs, on PostgreSQL: the API and 1, 2 and 4 worker processes (one job at a
/// time each, libtorch on one thread, so four fit two cores), and N tiny jobs (one training step
/// on 32 images, then the evaluation every job ends with) submitted in bursts. From the records:
/// jobs dispatched per second, submit→running latency, that every job ran exactly once (one
/// attempt, one epoch record), and the worker-time left idle while jobs waited. Then, on the
/// two-worker layout, the queue's LISTEN connections are killed (<c>pg_terminate_backend</c>) and
/// single jobs, each submitted to an idle layout, show whether pickup still happens promptly.
/// </summary>
internal static class ScaleScenario
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(15);

    public static async Task<Dictionary<string, object?>> RunAsync(PostgresServer server, BenchOptions options, CancellationToken cancellationToken)
    {
        var workerCounts = options.Quick ? new[] { 1, 2 } : [1, 2, 4];
        Console.WriteLine($"== {BenchOptions.Scale}: {options.ScaleJobs} jobs in bursts of {options.ScaleBurst} for each of {string.Join(", ", workerCounts)} worker process(es); " +
            "each job one step on 32 images, then its evaluation");
        var layouts = new List<Dictionary<string, object?>>();
        var ok = true;
        foreach (var workers in workerCounts)
        {
            await using var layout = await WorkerLayout.StartAsync(server, options, workers, cancellationToken);
            var run = await RunBurstsAsync(layout, options, workers, cancellationToken);
            ok &= run.ExactlyOnce;
            layouts.Add(run.ToJson());
            if (workers == 2)
            {
                var listen = await ListenLossAsync(layout, options, cancellationToken);
                layouts[^1]["listenLoss"] = listen;
                ok &= listen["bounded"] is true;
            }
        }
        return new Dictionary<string, object?>
        {
            ["scenario"] = BenchOptions.Scale,
            ["jobs"] = options.ScaleJobs,
            ["burst"] = options.ScaleBurst,
            ["layouts"] = layouts,
            ["ok"] = ok,
        };
    }

    private static async Task<Run> RunBurstsAsync(WorkerLayout layout, BenchOptions options, int workers, CancellationToken cancellationToken)
    {
        var tag = $"scale-{workers}w-{Guid.NewGuid():N}"[..20];
        var clock = Stopwatch.StartNew();
        for (var submitted = 0; submitted < options.ScaleJobs; submitted += options.ScaleBurst)
        {
            var burst = Math.Min(options.ScaleBurst, options.ScaleJobs - submitted);
            await Task.WhenAll(Enumerable.Range(0, burst).Select(_ => ServiceClient.SubmitAsync(layout.Http, TinyJob(tag), cancellationToken)));
            // Bursts a little apart, as clients submit: the queue both fills and drains between them.
            await Task.Delay(options.ScaleBurstGap, cancellationToken);
        }
        var jobs = await layout.WaitForTaggedAsync(tag, options.ScaleJobs, RunTimeout, cancellationToken);
        var seconds = clock.Elapsed.TotalSeconds;
        var run = Run.From(workers, jobs, seconds);
        Console.WriteLine($"   {workers} worker(s): {jobs.Count} jobs in {seconds:F1} s, {run.JobsPerSecond:F2} jobs/s; submit→running p50 {run.Latency.P50:F0} ms, p99 {run.Latency.P99:F0} ms; " +
            $"idle worker-time while jobs waited {run.IdleWhileWaitingSeconds:F1} s ({run.IdlePerJobMs:F0} ms a job); " +
            $"exactly once: {(run.ExactlyOnce ? "yes" : "NO")} (attempts {run.Attempts}, epoch records {run.EpochRecords}, succeeded {run.Succeeded}); load {MachineLoad.Describe()}");
        return run;
    }

    /// <summary>
    /// Pickup latency of a job submitted to an idle layout, with LISTEN working and after every
    /// LISTEN connection of the database has been terminated: unbounded would be the minutes of
    /// the invisibility timeout Hangfire.PostgreSql#410 reports; bounded is within the poll interval.
    /// </summary>
    private static async Task<Dictionary<string, object?>> ListenLossAsync(WorkerLayout layout, BenchOptions options, CancellationToken cancellationToken)
    {
        var before = await ProbeAsync(layout, options.ScaleProbes, "before", cancellationToken);
        var killed = await layout.TerminateListenersAsync(cancellationToken);
        var after = await ProbeAsync(layout, options.ScaleProbes, "after", cancellationToken);
        var reconnected = await layout.CountListenersAsync(cancellationToken);
        // Bounded: no probe waited longer than the fallback poll and a job's start-up allow.
        var bounded = after.Max() < 5_000;
        Console.WriteLine($"   LISTEN lost: {killed} LISTEN connection(s) terminated; idle pickup before: {Describe(before)}; after: {Describe(after)}; " +
            $"LISTEN connections afterwards {reconnected}; bounded: {(bounded ? "yes" : "NO")}");
        return new Dictionary<string, object?>
        {
            ["listenersTerminated"] = killed,
            ["listenersAfterwards"] = reconnected,
            ["pickupBeforeMs"] = before.Select(ms => Math.Round(ms)).ToArray(),
            ["pickupAfterMs"] = after.Select(ms => Math.Round(ms)).ToArray(),
            ["bounded"] = bounded,
        };

        static string Describe(double[] ms) => string.Create(CultureInfo.InvariantCulture, $"median {LatencySummary.Of(ms).P50:F0} ms, max {ms.Max():F0} ms");
    }

    private static async Task<double[]> ProbeAsync(WorkerLayout layout, int count, string phase, CancellationToken cancellationToken)
    {
        var latencies = new List<double>();
        for (var i = 0; i < count; i++)
        {
            var tag = $"probe-{phase}-{Guid.NewGuid():N}"[..20];
            await ServiceClient.SubmitAsync(layout.Http, TinyJob(tag), cancellationToken);
            var job = Assert1(await layout.WaitForTaggedAsync(tag, 1, TimeSpan.FromMinutes(8), cancellationToken));
            latencies.Add((job.StartedAt - job.CreatedAt).TotalMilliseconds);
        }
        return [.. latencies];

        static JobTimes Assert1(IReadOnlyList<JobTimes> jobs) => jobs.Count == 1 ? jobs[0] : throw new InvalidOperationException($"expected one probe job, found {jobs.Count}");
    }

    /// <summary>One optimiser step on 32 images: the evaluation after it is most of the job's time.</summary>
    public static byte[] TinyJob(string tag) =>
        ServiceClient.TrainJobBody("servicebench scale", ["servicebench", tag], new { epochs = 1, trainSubset = 32, batchSize = 32, device = "cpu" });

    internal sealed record JobTimes(Guid Id, string Status, DateTimeOffset CreatedAt, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, int Attempts, int Epochs, string Worker);

    private sealed record Run(int Workers, int Count, double Seconds, double JobsPerSecond, LatencySummary Latency, double IdleWhileWaitingSeconds, int Attempts, int EpochRecords, int Succeeded)
    {
        public bool ExactlyOnce => Attempts == Count && EpochRecords == Count && Succeeded == Count;

        public double IdlePerJobMs => IdleWhileWaitingSeconds * 1000 / Math.Max(1, Count);

        public static Run From(int workers, IReadOnlyList<JobTimes> jobs, double seconds)
        {
            var first = jobs.Min(j => j.CreatedAt);
            var last = jobs.Max(j => j.StartedAt);
            return new Run(workers, jobs.Count, seconds,
                // Dispatched per second: from the first submission to the last start.
                jobs.Count / Math.Max(1e-3, (last - first).TotalSeconds),
                LatencySummary.Of([.. jobs.Select(j => (j.StartedAt - j.CreatedAt).TotalMilliseconds)]),
                IdleWorkerTime.WhileJobsWaited(jobs, workers).TotalSeconds,
                jobs.Sum(j => j.Attempts), jobs.Sum(j => j.Epochs), jobs.Count(j => j.Status == "succeeded"));
        }

        public Dictionary<string, object?> ToJson() => new()
        {
            ["workers"] = Workers,
            ["jobs"] = Count,
            ["seconds"] = Math.Round(Seconds, 1),
            ["jobsPerSecond"] = Math.Round(JobsPerSecond, 3),
            ["submitToRunningP50Ms"] = Math.Round(Latency.P50),
            ["submitToRunningP99Ms"] = Math.Round(Latency.P99),
            ["idleWorkerSecondsWhileJobsWaited"] = Math.Round(IdleWhileWaitingSeconds, 2),
            ["attempts"] = Attempts,
            ["epochRecords"] = EpochRecords,
            ["succeeded"] = Succeeded,
            ["exactlyOnce"] = ExactlyOnce,
            ["loadAverage"] = MachineLoad.Describe(),
        };
    }
}
