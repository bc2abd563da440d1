using System.Diagnostics;
using System.Net;
using System.Text.Json;
using TrainingService.ServiceBench.Infrastructure;

namespace TrainingService.ServiceBench.Scenarios;

/// <summary>
/// <c>GET /jobs/{id}/metrics</c> (JSON) for a job with 100 recorded epochs, the read a dashboard
/// makes over and over: one client at a time, then eight at once, each as a closed loop (a client
/// sends its next request when the previous answer has arrived).
/// </summary>
internal static class MetricsLatencyScenario
{
    private const double TargetP99Ms = 20;
    private const int WarmUpRequests = 50;
    private static readonly int[] Concurrencies = [1, 8];
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(5);

    public static async Task<Dictionary<string, object?>> RunAsync(QueueOnlyService service, BenchOptions options, CancellationToken cancellationToken)
    {
        var epochs = options.MetricsEpochs;
        var requests = options.MetricsRequests;
        Console.WriteLine($"== {BenchOptions.MetricsLatency}: {requests} GET /jobs/{{id}}/metrics per run, {epochs} epochs recorded, at concurrency {string.Join(" and ", Concurrencies)}");

        var (id, lease) = await service.CreateRunningJobAsync("servicebench metrics-latency", epochs, cancellationToken);
        for (var epoch = 1; epoch <= epochs; epoch++)
            await service.RecordEpochAsync(id, lease, epoch, cancellationToken);
        await service.SucceedAsync(id, lease, epochs, cancellationToken);

        var path = $"/jobs/{id}/metrics";
        using var http = ServiceClient.Create(service.BaseAddress, Concurrencies.Max() + 4);
        // The answer never changes, so one checked answer's length checks every other.
        var reference = await http.GetByteArrayAsync(path, cancellationToken);
        using (var document = JsonDocument.Parse(reference))
        {
            var listed = document.RootElement.EnumerateArray().Select(e => e.GetProperty("epoch").GetInt32()).ToArray();
            if (!listed.SequenceEqual(Enumerable.Range(1, epochs)))
                throw new InvalidOperationException($"{path} listed epochs [{string.Join(",", listed)}], not 1..{epochs}");
        }
        Console.WriteLine($"   job {id}: {epochs} epochs, {reference.Length:N0} bytes of JSON per answer");

        await RunClosedLoopAsync(http, path, reference.Length, WarmUpRequests, Concurrencies.Max(), cancellationToken);
        var runs = new List<(int Concurrency, LatencySummary Latency, double PerSecond, int Bad)>();
        foreach (var concurrency in Concurrencies)
        {
            var (latencies, wallMs, bad) = await RunClosedLoopAsync(http, path, reference.Length, requests, concurrency, cancellationToken);
            var latency = LatencySummary.Of(latencies);
            var perSecond = latencies.Count / (wallMs / 1000);
            runs.Add((concurrency, latency, perSecond, bad));
            Console.WriteLine($"   concurrency {concurrency}: {latency}, {perSecond:F0} requests/s" + (bad > 0 ? $", {bad} bad answers" : ""));
        }

        var worst = runs.Max(r => r.Latency.P99);
        return new Dictionary<string, object?>
        {
            ["scenario"] = BenchOptions.MetricsLatency,
            ["store"] = "postgresql",
            ["epochs"] = epochs,
            ["responseBytes"] = reference.Length,
            ["requestsPerRun"] = requests,
            ["warmUpRequests"] = WarmUpRequests,
            ["runs"] = runs.Select(r => new Dictionary<string, object?>
            {
                ["concurrency"] = r.Concurrency,
                ["latency"] = r.Latency.ToJson(),
                ["requestsPerSecond"] = Math.Round(r.PerSecond),
                ["badAnswers"] = r.Bad,
            }).ToArray(),
            ["targetP99Ms"] = TargetP99Ms,
            ["targetMet"] = worst < TargetP99Ms,
            ["ok"] = runs.All(r => r.Bad == 0),
        };
    }

    /// <summary>
    /// <paramref name="total"/> requests shared among <paramref name="concurrency"/> clients; each
    /// latency runs from sending to having read the whole body. An answer is bad unless it is a
    /// 200 of the reference length.
    /// </summary>
    private static async Task<(List<double> Latencies, double WallMs, int Bad)> RunClosedLoopAsync(
        HttpClient http, string path, int expectedLength, int total, int concurrency, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RunTimeout);
        var issued = 0;
        var bad = 0;
        var started = Stopwatch.GetTimestamp();
        var perClient = await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            var latencies = new List<double>();
            while (Interlocked.Increment(ref issued) <= total)
            {
                var start = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync(path, HttpCompletionOption.ResponseContentRead, timeout.Token);
                var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
                latencies.Add(LatencySummary.Milliseconds(start, Stopwatch.GetTimestamp()));
                if (response.StatusCode != HttpStatusCode.OK || body.Length != expectedLength)
                    Interlocked.Increment(ref bad);
            }
            return latencies;
        }));
        return ([.. perClient.SelectMany(l => l)], LatencySummary.Milliseconds(started, Stopwatch.GetTimestamp()), bad);
    }
}
