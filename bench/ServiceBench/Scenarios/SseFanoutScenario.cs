using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using TrainingService.ServiceBench.Infrastructure;

namespace TrainingService.ServiceBench.Scenarios;

/// <summary>
/// Many dashboards following one running job: N clients hold <c>GET /jobs/{id}/metrics</c>
/// streams open while the benchmark, playing the worker, records an epoch every 200 ms and then
/// finishes the job. Every client must get every epoch exactly once and the <c>end</c> event; the
/// delay is from the moment the benchmark began writing an epoch to the moment a client had read
/// its event.
/// </summary>
internal static class SseFanoutScenario
{
    private const double TargetDelayMs = 1000;
    private const int MaxLinesPerEvent = 1000;
    private const int MaxEventsPerClient = 10_000;
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    public static async Task<Dictionary<string, object?>> RunAsync(QueueOnlyService service, BenchOptions options, CancellationToken cancellationToken)
    {
        var clients = options.SseClients;
        var epochs = options.SseEpochs;
        Console.WriteLine($"== {BenchOptions.SseFanout}: {clients} SSE clients on one running job, {epochs} epochs recorded {options.SseEpochInterval.TotalMilliseconds:F0} ms apart, then finished");

        var (id, lease) = await service.CreateRunningJobAsync("servicebench sse-fanout", epochs, cancellationToken);
        using var http = ServiceClient.Create(service.BaseAddress, clients + 4);
        using var streams = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // The whole scenario's bound: connecting, every epoch, the end, and some slack.
        streams.CancelAfter(ConnectTimeout + options.SseEpochInterval * epochs + DrainTimeout);

        var connected = Enumerable.Range(0, clients).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var followers = connected.Select(signal => FollowAsync(http, $"/jobs/{id}/metrics", signal, streams.Token)).ToArray();
        var recordedAt = new long[epochs + 1];
        double connectMs;
        try
        {
            var connectClock = Stopwatch.StartNew();
            await Task.WhenAll(connected.Select(c => c.Task)).WaitAsync(ConnectTimeout, cancellationToken);
            connectMs = connectClock.Elapsed.TotalMilliseconds;
            Console.WriteLine($"   {clients} streams open in {connectMs:F0} ms");

            // Played as a worker would: each epoch at its slot on a fixed cadence, then the finish at once.
            var cadenceStart = Stopwatch.GetTimestamp();
            for (var epoch = 1; epoch <= epochs; epoch++)
            {
                var due = options.SseEpochInterval * (epoch - 1) - Stopwatch.GetElapsedTime(cadenceStart);
                if (due > TimeSpan.Zero)
                    await Task.Delay(due, cancellationToken);
                Volatile.Write(ref recordedAt[epoch], Stopwatch.GetTimestamp());
                await service.RecordEpochAsync(id, lease, epoch, cancellationToken);
            }
            await service.SucceedAsync(id, lease, epochs, cancellationToken);
        }
        catch
        {
            // Close the streams before leaving: the clients would otherwise read on until the scenario's bound.
            await streams.CancelAsync();
            await Task.WhenAll(followers);
            throw;
        }

        var outcomes = await Task.WhenAll(followers);
        var delays = new List<double>();
        var okClients = 0;
        var received = 0;
        var problems = new List<string>();
        foreach (var outcome in outcomes)
        {
            received += outcome.Epochs.Count;
            foreach (var (epoch, at) in outcome.Epochs)
            {
                if (epoch >= 1 && epoch <= epochs)
                    delays.Add(LatencySummary.Milliseconds(recordedAt[epoch], at));
            }
            var problem = Check(outcome, epochs);
            if (problem is null)
                okClients++;
            else
                problems.Add(problem);
        }
        var delay = LatencySummary.Of(delays);
        Console.WriteLine($"   clients   {okClients}/{clients} got epochs 1..{epochs} exactly once and the end event; {received} epoch events received (expected {clients * epochs})");
        Console.WriteLine($"   delay     {delay}");
        foreach (var problem in problems.Distinct().Take(5))
            Console.WriteLine($"   problem:  {problem}");

        return new Dictionary<string, object?>
        {
            ["scenario"] = BenchOptions.SseFanout,
            ["store"] = "postgresql",
            ["clients"] = clients,
            ["clientsOk"] = okClients,
            ["epochs"] = epochs,
            ["epochIntervalMs"] = options.SseEpochInterval.TotalMilliseconds,
            ["connectAllMs"] = Math.Round(connectMs, 1),
            ["epochsReceived"] = received,
            ["epochsExpected"] = clients * epochs,
            ["delay"] = delay.ToJson(),
            ["targetMaxDelayMs"] = TargetDelayMs,
            ["targetMet"] = delay.Max < TargetDelayMs,
            ["ok"] = okClients == clients,
        };
    }

    private sealed record Outcome(List<(int Epoch, long ReceivedAt)> Epochs, string? EndStatus, string? Error);

    /// <summary>Null when the client got epochs 1..N once each, in order, then an end event saying succeeded.</summary>
    private static string? Check(Outcome outcome, int epochs)
    {
        if (outcome.Error is not null)
            return outcome.Error;
        var got = outcome.Epochs.Select(e => e.Epoch).ToArray();
        if (!got.SequenceEqual(Enumerable.Range(1, epochs)))
            return $"epochs [{string.Join(",", got)}] instead of 1..{epochs}";
        return outcome.EndStatus == "succeeded" ? null : $"end event: {outcome.EndStatus ?? "none"}";
    }

    /// <summary>One client: opens the stream, signals once the server has answered, and reads to the end event.</summary>
    private static async Task<Outcome> FollowAsync(HttpClient http, string path, TaskCompletionSource connected, CancellationToken cancellationToken)
    {
        var epochs = new List<(int, long)>();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Accept.ParseAdd("text/event-stream");
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK || response.Content.Headers.ContentType?.MediaType != "text/event-stream")
                throw new InvalidOperationException($"answered {(int)response.StatusCode} {response.Content.Headers.ContentType}");
            // The service subscribes the stream before it sends the headers: from here on no epoch can be missed.
            connected.TrySetResult();

            var reader = new ServerSentEventReader(await response.Content.ReadAsStreamAsync(cancellationToken));
            for (var count = 0; count < MaxEventsPerClient; count++)
            {
                var e = await reader.ReadAsync(MaxLinesPerEvent, cancellationToken);
                if (e is null)
                    return new Outcome(epochs, null, "the stream ended without an end event");
                switch (e.Event)
                {
                    case "epoch":
                        var epoch = int.Parse(e.Id ?? "-1", NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                        using (var data = JsonDocument.Parse(e.Data))
                        {
                            if (data.RootElement.GetProperty("epoch").GetInt32() != epoch)
                                return new Outcome(epochs, null, $"event id {epoch} carried another epoch's data");
                        }
                        epochs.Add((epoch, e.ReceivedAt));
                        break;
                    case "end":
                        using (var data = JsonDocument.Parse(e.Data))
                            return new Outcome(epochs, data.RootElement.GetProperty("status").GetString(), null);
                }
            }
            return new Outcome(epochs, null, $"no end event within {MaxEventsPerClient} events");
        }
        catch (Exception e)
        {
            // A failed client is a finding, not a reason to stop the others: it is reported as not OK.
            // Signalled as connected too, so the others need not wait out the connect timeout.
            connected.TrySetResult();
            return new Outcome(epochs, null, $"{e.GetType().Name}: {e.Message}");
        }
    }
}
