using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;
using TrainingService.Api.Tests.Infrastructure;

namespace TrainingService.EndToEnd.Tests;

/// <summary>
/// Webhooks with every part real: the API and a worker as processes on PostgreSQL, a real training
/// job, a receiver on 127.0.0.1 (an <see cref="HttpListener"/>), and the API killed with SIGKILL —
/// once while the job runs, so that the worker ends it with no API up, and once while its event's
/// delivery is pending — and started again on the same database each time.
/// </summary>
public sealed class WebhookEndToEndTests : IAsyncLifetime
{
    private const string Secret = "whsec-e2e-0123456789abcdef";

    private readonly ConcurrentQueue<(DateTimeOffset At, int Status, string Signature, byte[] Body)> received = new();
    private readonly HttpListener listener = new();
    private volatile int answer = 503;
    private TestDatabase database = null!;
    private Dictionary<string, string> environment = null!;
    private ServiceProcess? api;
    private ServiceProcess worker = null!;
    private HttpClient http = null!;
    private string apiUrl = "";
    private string receiverUrl = "";

    public async Task InitializeAsync()
    {
        var receiverPort = ServiceProcess.FreePort();
        receiverUrl = $"http://127.0.0.1:{receiverPort}/hook/";
        listener.Prefixes.Add(receiverUrl);
        listener.Start();
        _ = Task.Run(ReceiveAsync);

        database = await TestDatabase.CreateAsync();
        environment = new Dictionary<string, string>
        {
            ["Storage__PostgresConnectionString"] = database.ConnectionString,
            ["Checkpoints__Root"] = Directory.CreateTempSubdirectory("trainingservice-e2e-").FullName,
            ["Mnist__DataDirectory"] = Repository.MnistDirectory,
            ["Mnist__Download"] = "false",
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Auth__Enabled"] = "false",
            // The receiver listens on 127.0.0.1; delivery is quick and retried quickly here.
            ["Webhooks__AllowPrivateAddresses"] = "true",
            ["Webhooks__PollInterval"] = "00:00:00.200",
            ["Webhooks__FirstRetryDelay"] = "00:00:01",
            ["Webhooks__MaxRetryDelay"] = "00:00:02",
            ["Webhooks__Timeout"] = "00:00:02",
        };
        apiUrl = $"http://127.0.0.1:{ServiceProcess.FreePort()}";
        http = new HttpClient { BaseAddress = new Uri(apiUrl), Timeout = TimeSpan.FromMinutes(1) };
        worker = ServiceProcess.Start(Repository.Program("Worker", "TrainingService.Worker"), environment);
        await StartApiAsync();
    }

    private async Task ReceiveAsync()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception) when (!listener.IsListening)
            {
                return;
            }
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var status = answer;
            received.Enqueue((DateTimeOffset.UtcNow, status, context.Request.Headers["X-TrainingService-Signature"] ?? "", body.ToArray()));
            context.Response.StatusCode = status;
            context.Response.Close();
        }
    }

    private async Task StartApiAsync()
    {
        if (api is not null)
            await api.DisposeAsync();
        api = ServiceProcess.Start(Repository.Program("Api", "TrainingService.Api"), environment, "--urls", apiUrl);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(api.HasExited, "the API exited:\n" + api.Output);
            try
            {
                if ((await http.GetAsync("/health/ready")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { /* not listening yet */ }
            await Task.Delay(300);
        }
        Assert.Fail("the API did not become ready:\n" + api.Output);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"Waited {timeout} for {what()}");
            await Task.Delay(200);
        }
    }

    private async Task<string?> StoredStatusAsync(string id)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand("SELECT status FROM jobs WHERE id = @id", connection) { Parameters = { new("id", Guid.Parse(id)) } };
        return (string?)await select.ExecuteScalarAsync();
    }

    private async Task<JsonArray> DeliveriesAsync(string id) =>
        (await http.GetFromJsonAsync<JsonObject>($"/jobs/{id}/webhooks"))!["items"]!.AsArray();

    [Fact]
    public async Task A_real_jobs_event_survives_the_API_being_killed_before_and_after_the_job_ends_and_arrives_signed()
    {
        var submitted = await http.PostAsJsonAsync("/jobs", new
        {
            kind = "train",
            architecture = "convnet",
            name = "e2e webhook",
            hyperparameters = new { epochs = 1, batchSize = 100, trainSubset = 2000, seed = 3, device = "cpu" },
            callback = new { url = receiverUrl, secret = Secret },
        });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var id = (string)(await submitted.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        await WaitUntilAsync(async () => await StoredStatusAsync(id) == "running", TimeSpan.FromMinutes(2), () => "the worker to start the job\n" + worker.Output);

        // 1. The API dies while the job runs; the worker finishes it with no API up.
        await api!.KillAsync();
        await WaitUntilAsync(async () => await StoredStatusAsync(id) == "succeeded", TimeSpan.FromMinutes(4), () => "the worker to finish the job\n" + worker.Output);
        Assert.Empty(received);

        // 2. A new API announces the end; the receiver answers 503, and the API dies again with the delivery pending.
        await StartApiAsync();
        await WaitUntilAsync(async () => (await DeliveriesAsync(id)) is [{ } d] && d["attempts"]!.AsArray().Count >= 1,
            TimeSpan.FromMinutes(1), () => "a failed attempt\n" + api!.Output);
        await api!.KillAsync();
        var failedAttempts = received.Count;
        Assert.All(received, r => Assert.Equal(503, r.Status));

        // 3. The receiver is back; a third API delivers the pending event.
        answer = 200;
        await StartApiAsync();
        await WaitUntilAsync(() => Task.FromResult(received.Any(r => r.Status == 200)), TimeSpan.FromMinutes(1), () => "the delivery\n" + api!.Output);

        var delivered = received.Single(r => r.Status == 200);
        Assert.True(WebhookVerification.IsValid(delivered.Signature, delivered.Body, Secret, DateTimeOffset.UtcNow));
        Assert.All(received, r => Assert.Equal(delivered.Body, r.Body)); // one event, the same bytes every time
        var job = JsonNode.Parse(delivered.Body)!["job"]!;
        Assert.Equal((id, "succeeded", 1), ((string)job["id"]!, (string)job["status"]!, (int)job["epochs"]!));
        Assert.InRange((double)job["result"]!["finalTestAccuracy"]!, 0.5, 1.0);
        await WaitUntilAsync(async () => (await DeliveriesAsync(id)) is [{ } d] && (string)d["status"]! == "delivered",
            TimeSpan.FromSeconds(30), () => "the delivery to be recorded");
        // Every recorded attempt but the last met the 503s. (An attempt the receiver answered just as its
        // API was killed is received but not recorded: delivery is at least once.)
        var codes = (await DeliveriesAsync(id))[0]!["attempts"]!.AsArray().Select(a => (int)a!["statusCode"]!).ToList();
        Assert.Equal(200, codes[^1]);
        Assert.All(codes[..^1], code => Assert.Equal(503, code));
        Assert.InRange(codes.Count, 2, received.Count);
        Assert.True(failedAttempts >= 1);
    }

    public async Task DisposeAsync()
    {
        listener.Stop();
        if (api is not null)
            await api.DisposeAsync();
        await worker.DisposeAsync();
        http.Dispose();
        await database.DisposeAsync();
    }
}
