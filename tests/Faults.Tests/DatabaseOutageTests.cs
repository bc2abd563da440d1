using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using TrainingService.Faults.Tests.Infrastructure;

namespace TrainingService.Faults.Tests;

/// <summary>
/// The test's own PostgreSQL server stopped for 30 seconds (pg_ctl stop -m fast: every connection
/// cut) while a job trains, then started again. The worker keeps training and retries its writes,
/// so no epoch is lost and the attempt is never abandoned; the API answers 503 problem details
/// (no stack traces) while the database is away, and recovers by itself.
/// </summary>
public sealed class DatabaseOutageTests(ITestOutputHelper output)
{
    private const int Epochs = 4;
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task TrainingGoesOnThroughA30SecondDatabaseOutageAndTheApiAnswers503UntilItIsBack()
    {
        // The stale threshold stays at its default (60 s), longer than the outage: a job whose
        // worker merely could not reach the database must not be declared lost.
        await using var rig = await FaultRig.StartOnPostgresAsync(output, new Dictionary<string, string>
        {
            ["Worker__StaleAfter"] = "00:01:00",
        });
        var worker = rig.StartWorker("worker-outage");
        var id = await rig.SubmitAsync("database-outage", Epochs);
        await rig.WaitForJobAsync(id, j => (string)j["status"]! == "running" && j["progress"] is JsonObject, "running");
        await rig.WaitUntilAsync(async () => (await rig.MetricsAsync(id)).Count >= 1, "epoch 1 to be recorded", FaultRig.JobTimeout);

        await rig.Postgres!.StopAsync();
        var stoppedAt = DateTime.UtcNow;
        var outputAtStop = worker.Output.Length;
        var answers = new List<HttpStatusCode>();
        var outageEnds = DateTime.UtcNow + Outage;
        try
        {
            while (DateTime.UtcNow < outageEnds)
            {
                foreach (var (method, path) in new[] { ("GET", $"/jobs/{id}"), ("GET", $"/jobs/{id}/metrics"), ("POST", "/jobs") })
                {
                    using var response = method == "GET"
                        ? await rig.Http.GetAsync(path)
                        : await rig.Http.PostAsJsonAsync(path, new { kind = "train", architecture = "convnet", hyperparameters = new { epochs = 1 } });
                    answers.Add(response.StatusCode);
                    var body = await response.Content.ReadAsStringAsync();
                    Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable,
                        $"{method} {path} answered {(int)response.StatusCode} while the database was away: {body}\n--- the API's log:\n{Tail(rig.Api.Output)}");
                    Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                    var problem = JsonNode.Parse(body)!.AsObject();
                    Assert.Equal(503, (int)problem["status"]!);
                    Assert.DoesNotContain(" at ", (string?)problem["detail"] ?? "");
                    Assert.DoesNotContain("Npgsql", body);
                    Assert.DoesNotContain("Exception", body);
                    Assert.NotNull(response.Headers.RetryAfter);
                }
                await Task.Delay(1000);
            }
        }
        finally
        {
            await rig.Postgres.StartAgainAsync();
        }
        var outage = DateTime.UtcNow - stoppedAt;
        var duringOutage = worker.Output[outputAtStop..];

        // Recovers by itself: the same requests succeed again without restarting anything.
        await rig.WaitUntilAsync(async () => (await rig.Http.GetAsync($"/jobs/{id}")).IsSuccessStatusCode,
            "the API to answer again", TimeSpan.FromMinutes(1));
        var finished = await rig.WaitForJobAsync(id, FaultRig.IsTerminal, "finished");
        Assert.Equal("succeeded", (string)finished["status"]!);
        Assert.Equal(1, (int)finished["attempt"]!);
        // Each epoch recorded once, by attempt 1, its writes retried through the outage and none doubled.
        var ledger = await rig.AssertEachEpochTrainedOnceAsync(id, Epochs);
        Assert.Equal(Enumerable.Range(1, Epochs), ledger.Select(e => e.Epoch));
        Assert.All(ledger, e => Assert.Equal(1, e.Attempt));

        // The worker trained on while the database was away, and its writes were retried, not dropped.
        Assert.Matches($"Job {id} epoch [2-4]/{Epochs}", duringOutage);
        Assert.Contains("failed (try", duringOutage);
        // Nothing submitted during the outage was stored.
        var listed = (await rig.Http.GetFromJsonAsync<JsonObject>("/jobs?limit=100"))!["items"]!.AsArray();
        Assert.Single(listed);

        await rig.ReportAsync("PostgreSQL stopped for 30 s mid-run", [(id, Epochs)], new Dictionary<string, object>
        {
            ["outageSeconds"] = Math.Round(outage.TotalSeconds, 1),
            ["requestsDuringOutage"] = answers.Count,
            ["answered503"] = answers.Count(s => s == HttpStatusCode.ServiceUnavailable),
            ["retriedWrites"] = duringOutage.Split('\n').Count(l => l.Contains("failed (try", StringComparison.Ordinal)),
            ["attempt"] = (int)finished["attempt"]!,
        });
    }

    private static string Tail(string log) => log.Length <= 6000 ? log : log[^6000..];
}
