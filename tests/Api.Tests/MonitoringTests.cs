using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts;

namespace TrainingService.Api.Tests;

public abstract partial class ApiContractTests
{
    /// <summary>A scrape parsed by the text format's grammar: each sample line's name and labels to its value.</summary>
    private async Task<(Dictionary<string, double> Samples, Dictionary<string, string> Types)> ScrapeAsync()
    {
        var response = await Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains(response.Content.Headers.ContentType.Parameters, p => p.Name == "version" && p.Value == "0.0.4");
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                types.Add(parts[2], parts[3]);
                continue;
            }
            if (line.StartsWith('#'))
                continue;
            var match = SampleLine().Match(line);
            Assert.True(match.Success, $"not a sample line: {line}");
            var value = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "NaN" => double.NaN,
                var number => double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            samples.Add(match.Groups["series"].Value, value);
        }
        return (samples, types);
    }

    [GeneratedRegex("""^(?<series>[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)+\})?) (?<value>\S+)$""")]
    private static partial Regex SampleLine();

    [Fact]
    public async Task Metrics_give_the_api_process_cpu_memory_garbage_collections_and_thread_pool()
    {
        var (before, types) = await ScrapeAsync();
        // Work between the scrapes: CPU time and allocations that a garbage collection is forced to clear.
        for (var i = 0; i < 20; i++)
            await CreateTrainJobAsync();
        GC.Collect();
        var (after, _) = await ScrapeAsync();

        Assert.Equal("counter", types["process_cpu_seconds_total"]);
        Assert.Equal("gauge", types["process_working_set_bytes"]);
        Assert.Equal("counter", types["dotnet_collection_count_total"]);
        Assert.Equal("counter", types["dotnet_gc_pause_seconds_total"]);
        Assert.Equal("gauge", types["dotnet_threadpool_queue_length"]);
        Assert.True(after["process_cpu_seconds_total"] > before["process_cpu_seconds_total"]);
        Assert.InRange(after["process_working_set_bytes"], 10e6, 100e9);
        Assert.True(after["dotnet_collection_count_total{generation=\"2\"}"] > before["dotnet_collection_count_total{generation=\"2\"}"]);
        Assert.True(after["dotnet_gc_pause_seconds_total"] > before["dotnet_gc_pause_seconds_total"]);
        Assert.True(after["dotnet_threadpool_queue_length"] >= 0);
    }

    [Fact]
    public async Task Metrics_count_jobs_by_status_and_the_running_ones()
    {
        var (before, types) = await ScrapeAsync();
        Assert.Equal("gauge", types["trainingservice_jobs"]);
        Assert.Equal("gauge", types["trainingservice_running_jobs"]);
        Assert.Equal("gauge", types["trainingservice_queue_depth"]);

        await CreateTrainJobAsync();
        var running = await CreateTrainJobAsync();
        await Driver.StartAsync(running);
        var (after, _) = await ScrapeAsync();

        Assert.Equal(before["trainingservice_jobs{status=\"queued\"}"] + 1, after["trainingservice_jobs{status=\"queued\"}"]);
        Assert.Equal(before["trainingservice_jobs{status=\"running\"}"] + 1, after["trainingservice_jobs{status=\"running\"}"]);
        Assert.Equal(before["trainingservice_running_jobs"] + 1, after["trainingservice_running_jobs"]);
        Assert.Contains("trainingservice_jobs{status=\"succeeded\"}", after.Keys);
        // The store's count and the API's listing agree.
        Assert.Equal(await CountJobsAsync(), after.Where(s => s.Key.StartsWith("trainingservice_jobs{", StringComparison.Ordinal)).Sum(s => s.Value));
        // Submitted jobs wait in Hangfire's default queue (nothing takes them in these tests).
        Assert.True(after["trainingservice_queue_depth{queue=\"default\"}"] >= 1);
    }

    [Fact]
    public async Task Metrics_give_each_live_workers_training_throughput()
    {
        var job = await CreateTrainJobAsync();
        var lease = await Driver.StartAsync(job);
        await Driver.ProgressAsync(job, lease, epoch: 1, step: 10);
        var worker = $"metrics-worker-{Guid.NewGuid():N}";
        var now = DateTimeOffset.UtcNow;
        await Factory.Workers.UpsertWorkerAsync(new WorkerRecord(worker, "host-m", ["default"], "cpu", job, now, now), CancellationToken.None);

        var (samples, types) = await ScrapeAsync();

        Assert.Equal("gauge", types["trainingservice_worker_training_samples_per_second"]);
        var progress = (await Factory.Store.GetAsync(job, CancellationToken.None))!.Progress!;
        Assert.Equal(progress.SamplesPerSecond, samples[$"trainingservice_worker_training_samples_per_second{{worker=\"{worker}\",job=\"{job}\"}}"]);
        Assert.True(samples["trainingservice_workers"] >= 1);
        await Factory.Workers.RemoveWorkerAsync(worker, CancellationToken.None);
    }

    [Fact]
    public async Task Metrics_hold_a_latency_histogram_per_route_template()
    {
        var id = await CreateTrainJobAsync();
        await Client.GetAsync($"/jobs/{id}");
        await Client.GetAsync($"/jobs/{id}");
        await Client.GetAsync($"/jobs/{Guid.NewGuid()}");

        var (samples, types) = await ScrapeAsync();

        const string name = "http_request_duration_seconds";
        Assert.Equal("histogram", types[name]);
        // Keyed by the template, not the id; each status its own series.
        var ok = "code=\"200\",method=\"GET\",controller=\"\",action=\"\",endpoint=\"/jobs/{id}\"";
        Assert.True(samples[$"{name}_count{{{ok}}}"] >= 2);
        Assert.True(samples[$"{name}_count{{code=\"404\",method=\"GET\",controller=\"\",action=\"\",endpoint=\"/jobs/{{id}}\"}}"] >= 1);
        Assert.DoesNotContain(samples.Keys, k => k.Contains(id.ToString(), StringComparison.Ordinal));
        var buckets = samples.Where(s => s.Key.StartsWith($"{name}_bucket{{{ok},le=", StringComparison.Ordinal)).Select(s => s.Value).ToList();
        Assert.Equal(17, buckets.Count);
        Assert.Equal(buckets.Order(), buckets); // cumulative
        Assert.Equal(samples[$"{name}_count{{{ok}}}"], samples[$"{name}_bucket{{{ok},le=\"+Inf\"}}"]);
        Assert.True(samples[$"{name}_sum{{{ok}}}"] > 0);
    }
}
