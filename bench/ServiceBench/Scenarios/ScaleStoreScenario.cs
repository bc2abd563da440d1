using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Npgsql;
using TrainingService.ServiceBench.Infrastructure;

namespace TrainingService.ServiceBench.Scenarios;

/// <summary>
/// A big store: 10,000 jobs (statuses, architectures and tags mixed) with 100 epoch records each,
/// one million in all, generated in PostgreSQL with <c>generate_series</c> from one real job the
/// API stored (so every column is as the service writes it). Then the reads a dashboard and a
/// scraper make, one at a time, timed from sending to the last byte: <c>GET /jobs</c> pages
/// (unfiltered, filtered, deep in the cursor chain), a job's metrics (paged), <c>/metrics</c>.
/// </summary>
internal static class ScaleStoreScenario
{
    private const double TargetP99Ms = 20;
    private const int WarmUpRequests = 50;

    public static async Task<Dictionary<string, object?>> RunAsync(QueueOnlyService service, BenchOptions options, CancellationToken cancellationToken)
    {
        var jobs = options.StoreJobs;
        var epochsPerJob = options.StoreEpochsPerJob;
        Console.WriteLine($"== {BenchOptions.ScaleStore}: {jobs:N0} jobs and {jobs * epochsPerJob:N0} epoch records generated, then {options.StoreRequests} of each read");

        using var http = ServiceClient.Create(service.BaseAddress, 4);
        var template = await ServiceClient.SubmitAsync(http, ScaleScenario.TinyJob("store-template"), cancellationToken);
        var clock = Stopwatch.StartNew();
        await GenerateAsync(service.ConnectionString, template, jobs, epochsPerJob, cancellationToken);
        Console.WriteLine($"   generated in {clock.Elapsed.TotalSeconds:F1} s");

        var someJob = await SomeGeneratedJobAsync(http, cancellationToken);
        // Deep in the chain, but within the 70 % of the jobs that succeeded (14 pages of 50 in a quick run's 1,000).
        var deepPages = options.Quick ? 5 : 20;
        var deepCursor = await CursorAfterPagesAsync(http, "/jobs?limit=50&status=succeeded", deepPages, cancellationToken);
        var reads = new (string Name, string Path)[]
        {
            ("dashboard list: GET /jobs?limit=50", "/jobs?limit=50"),
            ("GET /jobs?status=succeeded&limit=50", "/jobs?status=succeeded&limit=50"),
            ("GET /jobs?architecture=resnet18&tag=team-3&limit=50", "/jobs?architecture=resnet18&tag=team-3&limit=50"),
            ("GET /jobs?status=failed&kind=train&limit=200", "/jobs?status=failed&kind=train&limit=200"),
            ($"GET /jobs?status=succeeded, page {deepPages + 1} by cursor", $"/jobs?limit=50&status=succeeded&cursor={deepCursor}"),
            ("GET /jobs/{id}/metrics (100 epochs)", $"/jobs/{someJob}/metrics"),
            ("GET /jobs/{id}/metrics?sinceEpoch=50&limit=20", $"/jobs/{someJob}/metrics?sinceEpoch=50&limit=20"),
            ("dashboard sweeps: GET /sweeps?limit=10", "/sweeps?limit=10"),
            ("GET /metrics (Prometheus)", "/metrics"),
        };
        var results = new List<Dictionary<string, object?>>();
        foreach (var (name, path) in reads)
        {
            await TimeAsync(http, path, WarmUpRequests, cancellationToken);
            var latency = LatencySummary.Of(await TimeAsync(http, path, options.StoreRequests, cancellationToken));
            Console.WriteLine($"   {name,-52} {latency}");
            results.Add(new Dictionary<string, object?> { ["read"] = name, ["path"] = path, ["latency"] = latency.ToJson(), ["targetMet"] = latency.P99 < TargetP99Ms });
        }
        Console.WriteLine($"   load {MachineLoad.Describe()}");
        return new Dictionary<string, object?>
        {
            ["scenario"] = BenchOptions.ScaleStore,
            ["jobs"] = jobs,
            ["epochRecords"] = jobs * epochsPerJob,
            ["reads"] = results,
            ["targetP99Ms"] = TargetP99Ms,
            ["targetMet"] = results.All(r => r["targetMet"] is true),
            ["loadAverage"] = MachineLoad.Describe(),
            ["ok"] = true,
        };
    }

    /// <summary>
    /// Copies the template job <paramref name="jobs"/> times with new ids, times, statuses,
    /// architectures and tags (jsonb_populate_record keeps every other column as the API wrote it),
    /// and gives each copy <paramref name="epochsPerJob"/> epoch records.
    /// </summary>
    private static async Task GenerateAsync(string connectionString, Guid template, int jobs, int epochsPerJob, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"""
            CREATE TEMP TABLE generated AS
            SELECT (jsonb_populate_record(j, jsonb_build_object(
                        'id', gen_random_uuid(),
                        'status', (ARRAY['succeeded','succeeded','succeeded','succeeded','succeeded','succeeded','succeeded','failed','failed','cancelled'])[1 + g % 10],
                        'architecture', (ARRAY['convnet','resnet18','attention'])[1 + g % 3],
                        'tags', jsonb_build_array('servicebench', 'team-' || (g % 10)),
                        'created_at', now() - make_interval(secs => g * 60),
                        'started_at', now() - make_interval(secs => g * 60 - 5),
                        'finished_at', now() - make_interval(secs => g * 60 - 600),
                        'attempt', 1,
                        'idempotency_key', null))).*
            FROM jobs j, generate_series(1, @Jobs) g WHERE j.id = @Template;
            INSERT INTO jobs SELECT * FROM generated;
            INSERT INTO job_epochs (job_id, epoch, train_loss, train_accuracy, test_loss, test_accuracy, learning_rate,
                                    epoch_seconds, samples_per_second, recorded_at)
            SELECT g.id, e, 0.3 / e, 1 - 0.05 / e, 0.05 / e, 1 - 0.02 / e, 0.002, 27.5, 2500, g.created_at + make_interval(secs => e * 5)
            FROM generated g, generate_series(1, @Epochs) e;
            ANALYZE jobs;
            ANALYZE job_epochs;
            """, connection);
        command.CommandTimeout = 600;
        command.Parameters.AddWithValue("Jobs", jobs);
        command.Parameters.AddWithValue("Epochs", epochsPerJob);
        command.Parameters.AddWithValue("Template", template);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<Guid> SomeGeneratedJobAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(await http.GetStringAsync("/jobs?status=succeeded&limit=1&tag=team-3", cancellationToken));
        return document.RootElement.GetProperty("items")[0].GetProperty("id").GetGuid();
    }

    private static async Task<string> CursorAfterPagesAsync(HttpClient http, string path, int pages, CancellationToken cancellationToken)
    {
        string? cursor = null;
        for (var page = 0; page < pages; page++)
        {
            using var document = JsonDocument.Parse(await http.GetStringAsync(cursor is null ? path : $"{path}&cursor={cursor}", cancellationToken));
            cursor = document.RootElement.GetProperty("nextCursor").GetString() ?? throw new InvalidOperationException($"{path} ended after {page + 1} pages");
        }
        return cursor!;
    }

    /// <summary>One request at a time: the latency of a read, not of a queue of them.</summary>
    private static async Task<List<double>> TimeAsync(HttpClient http, string path, int count, CancellationToken cancellationToken)
    {
        var latencies = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            using var response = await http.GetAsync(path, HttpCompletionOption.ResponseContentRead, cancellationToken);
            _ = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            latencies.Add(LatencySummary.Milliseconds(start, Stopwatch.GetTimestamp()));
            if (response.StatusCode != HttpStatusCode.OK)
                throw new InvalidOperationException($"GET {path} answered {(int)response.StatusCode}");
        }
        return latencies;
    }
}
