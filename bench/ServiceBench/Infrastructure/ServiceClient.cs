using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TrainingService.ServiceBench.Infrastructure;

/// <summary>HTTP to a service process on 127.0.0.1, and the few calls every scenario needs.</summary>
internal static class ServiceClient
{
    public static readonly MediaTypeHeaderValue Json = new("application/json");

    /// <summary>
    /// A client whose connection pool never makes a request wait for another: with
    /// <paramref name="maxConnections"/> at least the scenario's concurrency, a measured latency
    /// is the server's and the network's, not a queue in this process. No proxy (an
    /// <c>http_proxy</c> in the environment must not route loopback traffic elsewhere), no
    /// cookies, no decompression.
    /// </summary>
    public static HttpClient Create(Uri baseAddress, int maxConnections) =>
        new(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxConnections,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(60),
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

    /// <summary>Waits for <c>/health/ready</c> (database, queue storage and checkpoint volume answer); fails fast if the process dies.</summary>
    public static async Task WaitUntilReadyAsync(HttpClient http, ServiceProcess api, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (api.HasExited)
                throw new InvalidOperationException($"{api.Name} exited before it was ready:\n{api.Tail}");
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(TimeSpan.FromSeconds(5));
                using var response = await http.GetAsync("/health/ready", attempt.Token);
                if (response.IsSuccessStatusCode)
                    return;
            }
            catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                // Not listening yet.
            }
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
        throw new TimeoutException($"{api.Name} was not ready within {timeout.TotalSeconds:F0} s:\n{api.Tail}");
    }

    // Null hyperparameters are left out, as a client leaves out what it does not override.
    private static readonly JsonSerializerOptions RequestJson = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The body of a convnet training job submission.</summary>
    public static byte[] TrainJobBody(string name, IReadOnlyList<string> tags, object hyperparameters) =>
        JsonSerializer.SerializeToUtf8Bytes(new { kind = "train", architecture = "convnet", name, tags, hyperparameters }, RequestJson);

    public static HttpContent JsonContent(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = Json;
        return content;
    }

    /// <summary>Submits a job; returns its id, failing unless the service accepted it (202).</summary>
    public static async Task<Guid> SubmitAsync(HttpClient http, byte[] body, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsync("/jobs", JsonContent(body), cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode != HttpStatusCode.Accepted)
            throw new InvalidOperationException($"POST /jobs answered {(int)response.StatusCode}: {text}");
        return JobId(text);
    }

    public static Guid JobId(string jobJson)
    {
        using var document = JsonDocument.Parse(jobJson);
        return document.RootElement.GetProperty("id").GetGuid();
    }

    /// <summary>A job as <c>GET /jobs/{id}</c> shows it, with the times the overhead scenario compares.</summary>
    public sealed record JobState(string Status, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, double? FinalTestAccuracy, string? Error);

    public static async Task<JobState> GetJobAsync(HttpClient http, Guid id, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync($"/jobs/{id}", cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"GET /jobs/{id} answered {(int)response.StatusCode}: {text}");
        using var document = JsonDocument.Parse(text);
        var job = document.RootElement;
        DateTimeOffset? Time(string name) => job.GetProperty(name).ValueKind == JsonValueKind.Null ? null : job.GetProperty(name).GetDateTimeOffset();
        return new JobState(
            job.GetProperty("status").GetString()!,
            job.GetProperty("createdAt").GetDateTimeOffset(),
            Time("startedAt"),
            Time("finishedAt"),
            job.GetProperty("result") is { ValueKind: JsonValueKind.Object } result ? result.GetProperty("finalTestAccuracy").GetDouble() : null,
            job.GetProperty("error") is { ValueKind: JsonValueKind.Object } error ? error.GetProperty("message").GetString() : null);
    }

    public static bool IsTerminal(string status) => status is "succeeded" or "failed" or "cancelled";

    /// <summary>
    /// Polls <c>GET /jobs/{id}</c> every <paramref name="interval"/> until the job has ended;
    /// returns it and the <see cref="Stopwatch"/> timestamp at which the end was first observed.
    /// </summary>
    public static async Task<(JobState Job, long ObservedAt)> WaitForTerminalAsync(
        HttpClient http, Guid id, ServiceProcess[] services, TimeSpan interval, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var ticks = new PeriodicTimer(interval);
        while (clock.Elapsed < timeout)
        {
            var job = await GetJobAsync(http, id, cancellationToken);
            if (IsTerminal(job.Status))
                return (job, Stopwatch.GetTimestamp());
            if (services.FirstOrDefault(s => s.HasExited) is { } dead)
                throw new InvalidOperationException($"{dead.Name} exited while job {id} was {job.Status}:\n{dead.Tail}");
            await ticks.WaitForNextTickAsync(cancellationToken);
        }
        throw new TimeoutException($"job {id} did not finish within {timeout.TotalMinutes:F0} min:\n" +
            string.Join("\n", services.Select(s => $"--- {s.Name}:\n{s.Tail}")));
    }
}
