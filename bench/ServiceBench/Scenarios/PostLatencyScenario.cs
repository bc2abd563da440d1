using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Npgsql;
using TrainingService.ServiceBench.Infrastructure;

namespace TrainingService.ServiceBench.Scenarios;

/// <summary>
/// A burst of job submissions all released at the same instant against the API on PostgreSQL
/// (no worker, so the jobs only queue): each request's latency, then a check that every job
/// was stored once and handed to Hangfire once — a burst must neither lose nor double a job.
/// </summary>
internal static class PostLatencyScenario
{
    private const double TargetP99Ms = 50;
    private const int MaxListPages = 100;

    public static async Task<Dictionary<string, object?>> RunAsync(QueueOnlyService service, BenchOptions options, CancellationToken cancellationToken)
    {
        var count = options.PostRequests;
        var hyperparameters = new { epochs = 1, trainSubset = 256, device = "cpu" };
        var warmUpBody = ServiceClient.TrainJobBody("servicebench warm-up", ["servicebench", "servicebench-warmup"], hyperparameters);
        using var http = ServiceClient.Create(service.BaseAddress, count + 16);
        Console.WriteLine($"== {BenchOptions.PostLatency}: bursts of {count} concurrent POST /jobs on PostgreSQL (worker disabled): " +
            $"one cold, then {options.PostWarmBursts} warm after {options.PostWarmUpBursts} untimed bursts");

        // Cold: the first burst after start and a handful of requests (connections opened, but the
        // JIT still running most of the path unoptimised and growing the connection pools).
        await WaitUntilEnqueuedAsync(service, await SubmitAllAsync(http, warmUpBody, 20, cancellationToken), cancellationToken);
        var cold = await RunBurstAsync("cold burst (just started)", service, http, count, hyperparameters, cancellationToken);

        // Warm: what a service that has been taking submissions for a while answers. The untimed
        // bursts get every hot method through the JIT's tiers and the pools to their working size.
        var warmUp = new List<Guid>();
        for (var i = 0; i < options.PostWarmUpBursts; i++)
            warmUp.AddRange(await SubmitAllAsync(http, warmUpBody, count, cancellationToken));
        await WaitUntilEnqueuedAsync(service, warmUp, cancellationToken);
        var warm = new List<BurstOutcome>();
        for (var i = 0; i < options.PostWarmBursts; i++)
            warm.Add(await RunBurstAsync($"warm burst {i + 1} of {options.PostWarmBursts}", service, http, count, hyperparameters, cancellationToken));

        var warmLatency = LatencySummary.Of([.. warm.SelectMany(b => b.Milliseconds)]);
        Console.WriteLine($"   -- all warm bursts: {warmLatency}");
        return new Dictionary<string, object?>
        {
            ["scenario"] = BenchOptions.PostLatency,
            ["store"] = "postgresql",
            ["requests"] = count,
            ["coldBurst"] = cold.Figures,
            ["warmUpBursts"] = options.PostWarmUpBursts,
            ["warmBursts"] = warm.Select(b => b.Figures).ToArray(),
            ["warmLatency"] = warmLatency.ToJson(),
            ["targetP99Ms"] = TargetP99Ms,
            ["targetMet"] = warmLatency.P99 < TargetP99Ms,
            ["coldTargetMet"] = cold.P99 < TargetP99Ms,
            ["ok"] = cold.Ok && warm.All(b => b.Ok),
        };
    }

    /// <summary>Untimed submissions, <paramref name="count"/> at once, each required to be accepted.</summary>
    private static Task<Guid[]> SubmitAllAsync(HttpClient http, byte[] body, int count, CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, count).Select(_ => ServiceClient.SubmitAsync(http, body, cancellationToken)));

    private sealed record BurstOutcome(Dictionary<string, object?> Figures, double[] Milliseconds, double P99, bool Ok);

    private static async Task<BurstOutcome> RunBurstAsync(
        string label, QueueOnlyService service, HttpClient http, int count, object hyperparameters, CancellationToken cancellationToken)
    {
        // A tag of this burst's own finds exactly its jobs again among everything else in the database.
        var runTag = "servicebench-" + Guid.NewGuid().ToString("N")[..12];
        var body = ServiceClient.TrainJobBody("servicebench post-latency", ["servicebench", runTag], hyperparameters);
        Console.WriteLine($"   -- {label}");
        // Every request waits at the gate; opening it releases them all at once.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var requests = Enumerable.Range(0, count).Select(async _ =>
        {
            await gate.Task;
            var start = Stopwatch.GetTimestamp();
            try
            {
                using var response = await http.PostAsync("/jobs", ServiceClient.JsonContent(body), cancellationToken);
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                return new Submission(response.StatusCode, text, LatencySummary.Milliseconds(start, Stopwatch.GetTimestamp()), null);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                return new Submission(null, "", LatencySummary.Milliseconds(start, Stopwatch.GetTimestamp()), e.Message);
            }
        }).ToArray();
        var serverBefore = await ServerProcessFigures.ScrapeAsync(http, cancellationToken);
        var released = Stopwatch.GetTimestamp();
        gate.SetResult();
        var submissions = await Task.WhenAll(requests);
        var wallMs = LatencySummary.Milliseconds(released, Stopwatch.GetTimestamp());
        var server = (await ServerProcessFigures.ScrapeAsync(http, cancellationToken)) - serverBefore;

        var latency = LatencySummary.Of([.. submissions.Select(s => s.Milliseconds)]);
        var accepted = submissions.Where(s => s.Status == HttpStatusCode.Accepted).Select(s => ServiceClient.JobId(s.Body)).ToList();
        var failures = submissions.Where(s => s.Status != HttpStatusCode.Accepted)
            .Select(s => s.Error ?? $"{(int?)s.Status}: {s.Body[..Math.Min(200, s.Body.Length)]}").ToList();
        Console.WriteLine($"   latency   {latency}");
        Console.WriteLine($"   burst     {count} requests in {wallMs:F0} ms ({count / (wallMs / 1000):F0} requests/s); {accepted.Count} accepted (202), {failures.Count} not");
        Console.WriteLine($"   API       {server}");
        foreach (var failure in failures.Distinct().Take(5))
            Console.WriteLine($"   failed:   {failure}");

        // Stored exactly once: the run's tag lists each accepted id once, and nothing else.
        var listed = await ListTaggedAsync(http, runTag, cancellationToken);
        var storedOnce = listed.Count == count && accepted.Count == count
            && listed.Distinct().Count() == count && listed.ToHashSet().SetEquals(accepted);
        Console.WriteLine($"   stored    GET /jobs?tag={runTag}: {listed.Count} jobs, {listed.Distinct().Count()} distinct; " +
            (storedOnce ? "each accepted job exactly once" : "MISMATCH with the accepted jobs"));

        // Enqueued exactly once: one Hangfire job per job id, enqueued, with one queue entry. The
        // service hands jobs to Hangfire just after answering, so first wait (a minute at most)
        // until every accepted job is there.
        var queue = await WaitUntilEnqueuedAsync(service, accepted, cancellationToken);
        var allEnqueuedMs = LatencySummary.Milliseconds(released, Stopwatch.GetTimestamp());
        Console.WriteLine($"   enqueued  all accepted jobs in Hangfire {allEnqueuedMs:F0} ms after the burst was released");
        var byJobId = queue.ToLookup(q => q.JobId);
        var perJob = accepted.Distinct().ToDictionary(id => id, id => byJobId[id].ToList());
        var enqueuedOnce = perJob.Count == count && perJob.Values.All(h =>
            h.Count == 1 && h[0].State == "Enqueued" && h[0].QueueEntries == 1 && h[0].Queue == "cpu");
        var hangfireJobsOfRun = perJob.Values.Sum(h => h.Count);
        Console.WriteLine($"   enqueued  hangfire.job: {queue.Count} jobs in all, {hangfireJobsOfRun} for this burst's {accepted.Count}; " +
            (enqueuedOnce ? "each exactly once, Enqueued, one hangfire.jobqueue entry on queue cpu" : "MISMATCH"));
        if (!enqueuedOnce)
        {
            foreach (var (id, h) in perJob.Where(p => p.Value.Count != 1 || p.Value[0].QueueEntries != 1).Take(5))
                Console.WriteLine($"   job {id}: {h.Count} Hangfire jobs ({string.Join(", ", h.Select(x => $"{x.State}, {x.QueueEntries} queue entries"))})");
        }

        var figures = new Dictionary<string, object?>
        {
            ["accepted"] = accepted.Count,
            ["failed"] = failures.Count,
            ["latency"] = latency.ToJson(),
            ["burstWallMs"] = Math.Round(wallMs, 1),
            ["requestsPerSecond"] = Math.Round(count / (wallMs / 1000)),
            ["apiProcess"] = server.ToJson(),
            ["storedExactlyOnce"] = storedOnce,
            ["enqueuedExactlyOnce"] = enqueuedOnce,
            ["allEnqueuedMs"] = Math.Round(allEnqueuedMs),
        };
        return new BurstOutcome(figures, [.. submissions.Select(s => s.Milliseconds)], latency.P99, storedOnce && enqueuedOnce && failures.Count == 0);
    }

    /// <summary>
    /// Hangfire's jobs once each of <paramref name="jobIds"/> is enqueued with a queue entry (or a
    /// minute has passed): the service hands jobs over just after answering.
    /// </summary>
    private static async Task<List<HangfireJob>> WaitUntilEnqueuedAsync(QueueOnlyService service, IReadOnlyCollection<Guid> jobIds, CancellationToken cancellationToken)
    {
        var waitedFrom = Stopwatch.GetTimestamp();
        while (true)
        {
            var queue = await ReadHangfireAsync(service.ConnectionString, cancellationToken);
            var enqueued = queue.Where(q => q.State == "Enqueued" && q.QueueEntries > 0).Select(q => q.JobId).ToHashSet();
            if (jobIds.All(enqueued.Contains) || Stopwatch.GetElapsedTime(waitedFrom) > TimeSpan.FromMinutes(1))
                return queue;
            await Task.Delay(50, cancellationToken);
        }
    }

    private sealed record Submission(HttpStatusCode? Status, string Body, double Milliseconds, string? Error);

    private sealed record HangfireJob(long Id, Guid JobId, string? State, int QueueEntries, string? Queue);

    /// <summary>Every job carrying <paramref name="tag"/>, by following the API's pages to the end.</summary>
    private static async Task<List<Guid>> ListTaggedAsync(HttpClient http, string tag, CancellationToken cancellationToken)
    {
        var ids = new List<Guid>();
        string? cursor = null;
        for (var page = 0; page < MaxListPages; page++)
        {
            var url = $"/jobs?tag={Uri.EscapeDataString(tag)}&limit=200" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
            using var document = JsonDocument.Parse(await http.GetStringAsync(url, cancellationToken));
            ids.AddRange(document.RootElement.GetProperty("items").EnumerateArray().Select(j => j.GetProperty("id").GetGuid()));
            cursor = document.RootElement.GetProperty("nextCursor").GetString();
            if (cursor is null)
                return ids;
        }
        throw new InvalidOperationException($"GET /jobs?tag={tag} had more than {MaxListPages} pages");
    }

    /// <summary>
    /// Hangfire's own view (Hangfire.PostgreSql's schema <c>hangfire</c>): each background job
    /// with the TrainingService job id it carries (its first argument, a JSON-encoded Guid: the
    /// dispatcher enqueues <c>RunAsync(jobId, CancellationToken)</c>), its state, and its
    /// <c>jobqueue</c> entries.
    /// </summary>
    private static async Task<List<HangfireJob>> ReadHangfireAsync(string connectionString, CancellationToken cancellationToken)
    {
        const string sql = """
            SELECT j.id, j.arguments ->> 0, j.statename,
                   (SELECT count(*) FROM hangfire.jobqueue q WHERE q.jobid = j.id)::int,
                   (SELECT min(q.queue) FROM hangfire.jobqueue q WHERE q.jobid = j.id)
            FROM hangfire.job j
            """;
        var jobs = new List<HangfireJob>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var argument = reader.IsDBNull(1) ? null : reader.GetString(1);
            var jobId = argument is null ? Guid.Empty : JsonSerializer.Deserialize<Guid>(argument);
            jobs.Add(new HangfireJob(reader.GetInt64(0), jobId, reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetInt32(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        }
        return jobs;
    }
}
