using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Api.Webhooks;
using TrainingService.Contracts;
using TrainingService.Contracts.Access;
using TrainingService.Contracts.Training;
using TrainingService.Storage;
using Xunit.Abstractions;

namespace TrainingService.Api.Tests;

/// <summary>
/// Webhooks end to end, over real HTTP: the API on Kestrel at a loopback port, receivers on
/// 127.0.0.1 (so these hosts run with <c>Webhooks:AllowPrivateAddresses=true</c>; the refusal with it
/// off is <see cref="WebhookValidationTests"/>), jobs driven through the stores as a worker would, and
/// the API stopped and started again on the same database where a test needs a restart. Intervals are
/// short through configuration: delivery passes every 100 ms, the first retry after 500 ms.
/// </summary>
public abstract class WebhookTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Secret = "whsec-0123456789abcdef0123456789";
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(500);

    private RestartableApi api = null!;

    protected abstract bool Postgres { get; }

    public async Task InitializeAsync() => api = await RestartableApi.CreateAsync(Postgres);

    public async Task DisposeAsync() => await api.DisposeAsync();

    private RestartableApi.Host StartApi(params (string Key, string Value)[] overrides)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Webhooks:AllowPrivateAddresses"] = "true",
            ["Webhooks:PollInterval"] = "00:00:00.100",
            ["Webhooks:FirstRetryDelay"] = FirstRetryDelay.ToString(),
            ["Webhooks:MaxRetryDelay"] = "00:00:02",
            ["Webhooks:Timeout"] = "00:00:02",
        };
        foreach (var (key, value) in overrides)
            settings[key] = value;
        return api.Start(settings);
    }

    private static string Callback(string url, string secret = Secret) =>
        $$"""{ "url": "{{url}}", "secret": "{{secret}}" }""";

    private static async Task<Guid> SubmitAsync(HttpClient client, string? callback = null)
    {
        var body = $$"""{ "kind": "train", "architecture": "convnet", "hyperparameters": { "epochs": 2, "device": "cpu" }{{(callback is null ? "" : $", \"callback\": {callback}")}} }""";
        var response = await client.PostJsonAsync("/jobs", body);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>());
    }

    /// <summary>Runs the job to success through the stores, as its worker would: two epochs, then the result.</summary>
    private static async Task SucceedAsync(RestartableApi.Host host, Guid jobId)
    {
        var jobs = host.Get<IJobStore>();
        var lease = Guid.NewGuid();
        var now = DateTimeOffset.UtcNow;
        Assert.NotNull(await jobs.TryStartAttemptAsync(jobId, lease, "test-worker", "cpu", now, now.AddMinutes(-1), CancellationToken.None));
        for (var epoch = 1; epoch <= 2; epoch++)
            Assert.Equal(EpochWrite.Recorded, await host.Get<IEpochStore>().RecordEpochAsync(jobId, lease, JobDriver.Metrics(epoch), JobDriver.Trained, DateTimeOffset.UtcNow, CancellationToken.None));
        var last = JobDriver.Metrics(2);
        Assert.True(await jobs.FinishAttemptAsync(jobId, lease, JobStatus.Succeeded, TerminationReason.Succeeded,
            new JobResult(last.TestAccuracy, last.TestLoss, last.TestAccuracy, last.TestLoss, 2, null, null), null, DateTimeOffset.UtcNow, CancellationToken.None));
    }

    private static async Task CancelAsync(HttpClient client, Guid jobId) =>
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/jobs/{jobId}/cancel", null)).StatusCode);

    private static async Task<JsonArray> DeliveriesAsync(HttpClient client, string owner) =>
        (await (await client.GetAsync($"{owner}/webhooks")).ReadJsonAsync())["items"]!.AsArray();

    private static async Task<JsonNode> WaitForDeliveryAsync(HttpClient client, string owner, Func<JsonNode, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var items = await DeliveriesAsync(client, owner);
            if (items.Count > 0 && condition(items[0]!))
                return items[0]!;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Waited 30 s for {what}; the deliveries are {items.ToJsonString()}");
            await Task.Delay(50);
        }
    }

    private static int[] StatusCodes(JsonNode delivery) =>
        [.. delivery["attempts"]!.AsArray().Select(a => a!["statusCode"]?.GetValue<int>() ?? 0)];

    [Fact]
    public async Task A_job_that_succeeds_posts_an_event_signed_as_the_docs_say_to_verify_it()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var host = StartApi(("Webhooks:PublicBaseUrl", "https://training.example.com"));
        var client = host.CreateClient();
        var jobId = await SubmitAsync(client, Callback(receiver.Url));
        Assert.Empty(await DeliveriesAsync(client, $"/jobs/{jobId}"));

        await SucceedAsync(host, jobId);

        var received = Assert.Single(await receiver.WaitForAsync(1));
        var signature = received.Header("X-TrainingService-Signature");
        Assert.Matches("^t=[0-9]+,v1=[0-9a-f]{64}$", signature);
        Assert.Equal("job.succeeded", received.Header("X-TrainingService-Event"));
        Assert.StartsWith("application/json", received.Header("Content-Type"));
        // Verified as docs/webhooks.md says, in C# and with its shell lines; anything else is refused.
        var now = DateTimeOffset.UtcNow;
        Assert.True(WebhookVerification.IsValid(signature, received.Body, Secret, now));
        Assert.False(WebhookVerification.IsValid(signature, received.Body, Secret + "x", now));
        Assert.False(WebhookVerification.IsValid(signature, [.. received.Body, (byte)' '], Secret, now));
        Assert.False(WebhookVerification.IsValid(signature, received.Body, Secret, now.AddMinutes(6)));
        Assert.Equal(("valid", 0), await DocumentedShellCheckAsync(signature, received.Body, Secret));
        Assert.Equal(("INVALID", 1), await DocumentedShellCheckAsync(signature, Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(received.Body).Replace("succeeded", "failed")), Secret));

        var body = JsonNode.Parse(received.Body)!;
        Assert.Equal(received.Header("X-TrainingService-Delivery"), body["id"]!.GetValue<string>());
        Assert.Equal("job.succeeded", body["type"]!.GetValue<string>());
        var job = body["job"]!;
        Assert.Equal((jobId.ToString(), "succeeded", "convnet", 2, 1), (job["id"]!.GetValue<string>(), job["status"]!.GetValue<string>(),
            job["architecture"]!.GetValue<string>(), job["epochs"]!.GetValue<int>(), job["attempt"]!.GetValue<int>()));
        Assert.Equal(JobDriver.Metrics(2).TestAccuracy, job["result"]!["finalTestAccuracy"]!.GetValue<double>());
        Assert.True(job["wallSeconds"]!.GetValue<double>() >= 0);
        Assert.Equal($"https://training.example.com/jobs/{jobId}", body["links"]!["job"]!.GetValue<string>());
        Assert.Equal($"https://training.example.com/jobs/{jobId}/webhooks", body["links"]!["webhooks"]!.GetValue<string>());

        var delivery = await WaitForDeliveryAsync(client, $"/jobs/{jobId}", d => d["status"]!.GetValue<string>() == "delivered", "the delivery to be recorded");
        Assert.Equal((body["id"]!.GetValue<string>(), "job.succeeded", "callback", receiver.Url), (delivery["id"]!.GetValue<string>(),
            delivery["event"]!.GetValue<string>(), delivery["subscription"]!.GetValue<string>(), delivery["url"]!.GetValue<string>()));
        Assert.Equal([200], StatusCodes(delivery));
        Assert.Null(delivery["nextAttemptAt"]);
        Assert.DoesNotContain(Secret, await (await client.GetAsync($"/jobs/{jobId}/webhooks")).Content.ReadAsStringAsync());
        Assert.DoesNotContain(Secret, await (await client.GetAsync($"/jobs/{jobId}")).Content.ReadAsStringAsync());

        // Delivered once: later passes send nothing more.
        var outbox = host.Get<WebhookOutbox>();
        var passes = outbox.CompletedPasses;
        await WaitUntilAsync(() => outbox.CompletedPasses >= passes + 5, "five more passes");
        Assert.Single(receiver.Received);
    }

    /// <summary>Runs docs/webhooks.md's shell lines on the signature and body; returns what it printed and its exit code.</summary>
    private static async Task<(string Output, int ExitCode)> DocumentedShellCheckAsync(string signature, byte[] body, string secret)
    {
        var folder = TestData.NewScratchDirectory();
        await File.WriteAllBytesAsync(Path.Combine(folder, "body.json"), body);
        var start = new ProcessStartInfo("bash", ["-c", WebhookDocs.ShellCheck()])
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["SECRET"] = secret, ["SIGNATURE"] = signature },
        };
        using var process = Process.Start(start)!;
        var printed = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Directory.Delete(folder, recursive: true);
        return (printed.Trim(), process.ExitCode);
    }

    [Fact]
    public async Task A_receiver_that_fails_is_retried_with_growing_waits_and_every_attempt_is_listed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = n => (n <= 2 ? 500 : 200, TimeSpan.Zero);
        await using var host = StartApi();
        var client = host.CreateClient();
        var jobId = await SubmitAsync(client, Callback(receiver.Url));

        await CancelAsync(client, jobId);

        var received = await receiver.WaitForAsync(3);
        var delivery = await WaitForDeliveryAsync(client, $"/jobs/{jobId}", d => d["status"]!.GetValue<string>() == "delivered", "the third attempt to be recorded");
        Assert.Equal([500, 500, 200], StatusCodes(delivery));
        Assert.Equal(["HTTP 500 Internal Server Error", "HTTP 500 Internal Server Error", null],
            delivery["attempts"]!.AsArray().Select(a => a!["error"]?.GetValue<string>()));
        Assert.Equal([1, 2, 3], delivery["attempts"]!.AsArray().Select(a => a!["attempt"]!.GetValue<int>()));
        // The same event each time (one delivery id, the same bytes), the waits growing: 500 ms, then 1 s (±20 %).
        Assert.Single(received.Select(r => r.Header("X-TrainingService-Delivery")).Distinct());
        Assert.Single(received.Select(r => Convert.ToHexString(r.Body)).Distinct());
        Assert.Equal("job.cancelled", JsonNode.Parse(received[0].Body)!["type"]!.GetValue<string>());
        var waits = new[] { received[1].At - received[0].At, received[2].At - received[1].At };
        output.WriteLine($"waits between attempts: {waits[0].TotalMilliseconds:0} ms, {waits[1].TotalMilliseconds:0} ms");
        Assert.InRange(waits[0], FirstRetryDelay * 0.8, FirstRetryDelay * 4);
        Assert.InRange(waits[1], FirstRetryDelay * 2 * 0.8, FirstRetryDelay * 8);
    }

    [Fact]
    public async Task A_delivery_that_runs_out_of_attempts_is_marked_failed_and_left_alone()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = _ => (503, TimeSpan.Zero);
        await using var host = StartApi(("Webhooks:MaxAttempts", "2"));
        var client = host.CreateClient();
        var jobId = await SubmitAsync(client, Callback(receiver.Url));

        await CancelAsync(client, jobId);

        var delivery = await WaitForDeliveryAsync(client, $"/jobs/{jobId}", d => d["status"]!.GetValue<string>() == "failed", "the delivery to fail");
        Assert.Equal([503, 503], StatusCodes(delivery));
        Assert.NotNull(delivery["finishedAt"]);
        await Task.Delay(FirstRetryDelay * 4);
        Assert.Equal(2, receiver.Received.Count);
    }

    [Fact]
    public async Task A_pending_delivery_and_an_end_while_the_API_was_down_are_delivered_after_a_restart()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = _ => (503, TimeSpan.Zero);
        var first = StartApi();
        var client = first.CreateClient();
        var pending = await SubmitAsync(client, Callback(receiver.Url));
        var endsWhileDown = await SubmitAsync(client, Callback(receiver.Url));
        var lease = Guid.NewGuid();
        Assert.NotNull(await first.Get<IJobStore>().TryStartAttemptAsync(endsWhileDown, lease, "test-worker", "cpu", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, CancellationToken.None));
        await CancelAsync(client, pending);
        var failing = await WaitForDeliveryAsync(client, $"/jobs/{pending}", d => d["attempts"]!.AsArray().Count >= 1, "a failed attempt");
        var deliveryId = failing["id"]!.GetValue<string>();

        // The API stops with the delivery pending; the worker ends the other job while no API runs.
        await first.DisposeAsync();
        var attemptsBefore = receiver.Received.Count;
        await using (var database = JobDatabase.Open(api.Storage))
            Assert.True(await new SqlJobStore(database).FinishAttemptAsync(endsWhileDown, lease, JobStatus.Failed, TerminationReason.UserError, null,
                new JobError(JobErrorKind.User, "loss diverged"), DateTimeOffset.UtcNow, CancellationToken.None));
        receiver.Respond = _ => (200, TimeSpan.Zero);
        await Task.Delay(FirstRetryDelay * 3);
        Assert.Equal(attemptsBefore, receiver.Received.Count); // nothing is sent while no API runs

        await using var second = StartApi();
        client = second.CreateClient();

        var delivered = await WaitForDeliveryAsync(client, $"/jobs/{pending}", d => d["status"]!.GetValue<string>() == "delivered", "the pending delivery after the restart");
        Assert.Equal(deliveryId, delivered["id"]!.GetValue<string>());
        var codes = StatusCodes(delivered);
        Assert.Equal(200, codes[^1]);
        Assert.All(codes[..^1], code => Assert.Equal(503, code));
        var other = await WaitForDeliveryAsync(client, $"/jobs/{endsWhileDown}", d => d["status"]!.GetValue<string>() == "delivered", "the event of the job that ended while the API was down");
        Assert.Equal("job.failed", other["event"]!.GetValue<string>());
        var lastTwo = receiver.Received.Where(r => r.Number > attemptsBefore).Select(r => r.Header("X-TrainingService-Delivery")).ToHashSet();
        Assert.Equal(new HashSet<string> { deliveryId, other["id"]!.GetValue<string>() }, lastTwo);
    }

    [Fact]
    public async Task A_slow_receiver_delays_neither_submissions_nor_reads_and_is_retried_after_the_timeout()
    {
        // The receiver holds the first attempt for 20 s; the attempt gives up after 3 s. Requests measured
        // during the first second of the hold would take seconds if anything in them waited for it.
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = n => (200, n == 1 ? TimeSpan.FromSeconds(20) : TimeSpan.Zero);
        await using var host = StartApi(("Webhooks:Timeout", "00:00:03"));
        var client = host.CreateClient();
        await SubmitAsync(client); // warmed up: the first request's JIT is no receiver's doing
        var quiet = await MeasureRequestsAsync(client, TimeSpan.FromSeconds(1));

        var jobId = await SubmitAsync(client, Callback(receiver.Url));
        await CancelAsync(client, jobId);
        await receiver.WaitForAsync(1);
        var busy = await MeasureRequestsAsync(client, TimeSpan.FromSeconds(1));

        // Still held: the attempt has not ended, so every pair above ran beside it.
        var held = Assert.Single(await DeliveriesAsync(client, $"/jobs/{jobId}"));
        Assert.Equal(("pending", 0), (held!["status"]!.GetValue<string>(), held["attempts"]!.AsArray().Count));
        output.WriteLine($"POST /jobs + GET /jobs/{{id}} pairs: {quiet.Count} with no delivery in flight, max {quiet.Max():0} ms, median {Median(quiet):0} ms; " +
            $"{busy.Count} while the receiver held the attempt, max {busy.Max():0} ms, median {Median(busy):0} ms");
        Assert.True(busy.Count >= 10, $"Only {busy.Count} pairs were measured in a second while the attempt was held.");
        Assert.True(busy.Max() < 1500, $"A submission and read took {busy.Max():0} ms while a delivery hung on a slow receiver.");

        var delivery = await WaitForDeliveryAsync(client, $"/jobs/{jobId}", d => d["status"]!.GetValue<string>() == "delivered", "the retry to succeed");
        var attempts = delivery["attempts"]!.AsArray();
        Assert.Equal([0, 200], StatusCodes(delivery));
        Assert.Equal("No answer within 3 s (Webhooks:Timeout)", attempts[0]!["error"]!.GetValue<string>());
        Assert.InRange(attempts[0]!["durationMs"]!.GetValue<int>(), 2900, 8000);
    }

    /// <summary>Submit-and-read pairs, timed, for <paramref name="duration"/>.</summary>
    private static async Task<List<double>> MeasureRequestsAsync(HttpClient client, TimeSpan duration)
    {
        var timings = new List<double>();
        var stop = Stopwatch.StartNew();
        while (stop.Elapsed < duration)
        {
            var pair = Stopwatch.StartNew();
            var id = await SubmitAsync(client);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/jobs/{id}")).StatusCode);
            timings.Add(pair.Elapsed.TotalMilliseconds);
        }
        return timings;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    [Fact]
    public async Task A_sweep_posts_its_own_end_to_its_callback()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var host = StartApi();
        var client = host.CreateClient();
        var response = await client.PostJsonAsync("/sweeps", $$"""
            { "name": "hooked", "maxConcurrent": 1, "base": { "architecture": "convnet", "hyperparameters": { "epochs": 1 } },
              "grid": { "seed": [1, 2] }, "callback": {{Callback(receiver.Url)}} }
            """);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var sweepId = (await response.ReadJsonAsync())["id"]!.GetValue<string>();
        Assert.DoesNotContain(Secret, await (await client.GetAsync($"/sweeps/{sweepId}")).Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/sweeps/{sweepId}/cancel", null)).StatusCode);

        var received = Assert.Single(await receiver.WaitForAsync(1));
        Assert.True(WebhookVerification.IsValid(received.Header("X-TrainingService-Signature"), received.Body, Secret, DateTimeOffset.UtcNow));
        var body = JsonNode.Parse(received.Body)!;
        Assert.Equal(("sweep.cancelled", sweepId, "cancelled", 2), (body["type"]!.GetValue<string>(), body["sweep"]!["id"]!.GetValue<string>(),
            body["sweep"]!["status"]!.GetValue<string>(), body["sweep"]!["points"]!.GetValue<int>()));
        Assert.Equal($"/jobs?tag=sweep-{sweepId}", body["links"]!["jobs"]!.GetValue<string>());
        var delivery = await WaitForDeliveryAsync(client, $"/sweeps/{sweepId}", d => d["status"]!.GetValue<string>() == "delivered", "the sweep's delivery");
        Assert.Equal("sweep.cancelled", delivery["event"]!.GetValue<string>());
        // Its cancelled job ended too, but a sweep's callback is for the sweep's end only.
        await Task.Delay(500);
        Assert.Single(receiver.Received);
    }

    [Fact]
    public async Task A_sweep_whose_jobs_all_succeed_posts_its_best_point()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var host = StartApi();
        var client = host.CreateClient();
        var response = await client.PostJsonAsync("/sweeps", $$"""
            { "maxConcurrent": 2, "base": { "architecture": "convnet", "hyperparameters": { "epochs": 2 } },
              "grid": { "batchSize": [64, 128] }, "callback": {{Callback(receiver.Url)}} }
            """);
        var sweep = await response.ReadJsonAsync();
        var jobs = sweep["points"]!.AsArray().Select(p => Guid.Parse(p!["jobId"]!.GetValue<string>())).ToList();
        Assert.Equal(2, jobs.Count);

        await SucceedAsync(host, jobs[0]);
        await Task.Delay(500);
        Assert.Empty(receiver.Received); // one job still runs: the sweep has not ended
        await SucceedAsync(host, jobs[1]);

        var body = JsonNode.Parse(Assert.Single(await receiver.WaitForAsync(1)).Body)!;
        Assert.Equal(("sweep.succeeded", 2, 0), (body["type"]!.GetValue<string>(), body["sweep"]!["succeeded"]!.GetValue<int>(), body["sweep"]!["failed"]!.GetValue<int>()));
        var best = body["sweep"]!["best"]!;
        Assert.Equal(0, best["point"]!.GetValue<int>()); // equal accuracies: the first
        Assert.Equal((jobs[0].ToString(), 64), (best["jobId"]!.GetValue<string>(), best["values"]!["batchSize"]!.GetValue<int>()));
        Assert.NotNull(body["sweep"]!["finishedAt"]);
    }

    [Fact]
    public async Task A_default_subscription_gets_the_owners_events_it_asked_for_until_it_is_deleted()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var host = StartApi(("Auth:Enabled", "true"));
        var alice = await KeyAsync(host, "alice");
        var bob = await KeyAsync(host, "bob");
        var admin = await KeyAsync(host, "root", isAdmin: true);

        var created = await alice.PostJsonAsync("/webhooks", $$"""{ "url": "{{receiver.Url}}", "secret": "{{Secret}}", "events": ["job.failed"] }""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var subscription = await created.ReadJsonAsync();
        var id = subscription["id"]!.GetValue<string>();
        Assert.Equal($"/webhooks/{id}", created.Headers.Location!.ToString());
        Assert.Null(subscription["secret"]);
        Assert.Equal(("alice", receiver.Url), (subscription["owner"]!.GetValue<string>(), subscription["url"]!.GetValue<string>()));
        // Owned like jobs: bob neither lists, reads nor deletes it; an admin lists everyone's.
        Assert.Empty((await (await bob.GetAsync("/webhooks")).ReadJsonAsync())["items"]!.AsArray());
        await (await bob.GetAsync($"/webhooks/{id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await bob.DeleteAsync($"/webhooks/{id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Single((await (await admin.GetAsync("/webhooks")).ReadJsonAsync())["items"]!.AsArray());
        Assert.DoesNotContain(Secret, await (await alice.GetAsync("/webhooks")).Content.ReadAsStringAsync());

        var cancelled = await SubmitAsync(alice);
        var bobsFailure = await SubmitAsync(bob);
        var alicesFailure = await SubmitAsync(alice);
        await CancelAsync(alice, cancelled);          // alice's, but not an event type she asked for
        await FailAsync(host, bobsFailure);           // a job.failed, but bob's
        await FailAsync(host, alicesFailure);         // hers and asked for

        var received = Assert.Single(await receiver.WaitForAsync(1));
        var body = JsonNode.Parse(received.Body)!;
        Assert.Equal(("job.failed", alicesFailure.ToString()), (body["type"]!.GetValue<string>(), body["job"]!["id"]!.GetValue<string>()));
        Assert.Equal("user", body["job"]!["error"]!["kind"]!.GetValue<string>());
        var delivery = await WaitForDeliveryAsync(alice, $"/jobs/{alicesFailure}", d => d["status"]!.GetValue<string>() == "delivered", "the default's delivery");
        Assert.Equal(("default", id), (delivery["subscription"]!.GetValue<string>(), delivery["subscriptionId"]!.GetValue<string>()));

        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync($"/webhooks/{id}")).StatusCode);
        await (await alice.GetAsync($"/webhooks/{id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        var afterDelete = await SubmitAsync(alice);
        await FailAsync(host, afterDelete);
        var outbox = host.Get<WebhookOutbox>();
        var passes = outbox.CompletedPasses;
        await WaitUntilAsync(() => outbox.CompletedPasses >= passes + 5, "five more passes");
        Assert.Single(receiver.Received);
        Assert.Empty(await DeliveriesAsync(alice, $"/jobs/{afterDelete}"));
    }

    private static async Task FailAsync(RestartableApi.Host host, Guid jobId) =>
        Assert.True(await host.Get<IJobStore>().FailUnstartedAsync(jobId, new JobError(JobErrorKind.User, "no worker takes its queue"), DateTimeOffset.UtcNow, CancellationToken.None));

    /// <summary>A client that sends a new key of <paramref name="name"/>.</summary>
    private static async Task<HttpClient> KeyAsync(RestartableApi.Host host, string name, bool isAdmin = false)
    {
        var (record, key) = ApiKeys.Create(name, isAdmin, DateTimeOffset.UtcNow);
        await host.Get<IApiKeyStore>().CreateApiKeyAsync(record, CancellationToken.None);
        var client = host.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    [Fact]
    public async Task A_callback_accepted_while_private_addresses_were_allowed_is_refused_at_connection_once_they_are_not()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var allowing = StartApi();
        var jobId = await SubmitAsync(allowing.CreateClient(), Callback(receiver.Url));
        await allowing.DisposeAsync();

        // The same stored URL, now with the setting off (as after an administrator's change, or a name that
        // now resolves to the inside): the connection itself is refused, and the receiver hears nothing.
        await using var strict = StartApi(("Webhooks:AllowPrivateAddresses", "false"), ("Webhooks:MaxAttempts", "2"));
        var client = strict.CreateClient();
        await CancelAsync(client, jobId);

        var delivery = await WaitForDeliveryAsync(client, $"/jobs/{jobId}", d => d["status"]!.GetValue<string>() == "failed", "the refused delivery to fail");
        Assert.All(delivery["attempts"]!.AsArray(), attempt =>
        {
            Assert.Null(attempt!["statusCode"]);
            Assert.Equal("refused to connect: 127.0.0.1 is a loopback address (Webhooks:AllowPrivateAddresses is off)", attempt["error"]!.GetValue<string>());
        });
        Assert.Empty(receiver.Received);
    }

    [Fact]
    public async Task Two_API_processes_on_one_database_deliver_each_event_once()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var one = StartApi();
        await using var other = StartApi();
        var jobs = new List<Guid>();
        for (var i = 0; i < 10; i++)
            jobs.Add(await SubmitAsync((i % 2 == 0 ? one : other).CreateClient(), Callback(receiver.Url)));

        foreach (var job in jobs)
            await CancelAsync(other.CreateClient(), job);

        await receiver.WaitForAsync(jobs.Count);
        foreach (var outbox in new[] { one.Get<WebhookOutbox>(), other.Get<WebhookOutbox>() })
        {
            var passes = outbox.CompletedPasses;
            await WaitUntilAsync(() => outbox.CompletedPasses >= passes + 5, "five more passes");
        }
        Assert.Equal(jobs.Count, receiver.Received.Count);
        Assert.Equal(jobs.Select(j => j.ToString()).Order(), receiver.Received.Select(r => JsonNode.Parse(r.Body)!["job"]!["id"]!.GetValue<string>()).Order());
        foreach (var job in jobs)
        {
            var delivery = Assert.Single(await DeliveriesAsync(one.CreateClient(), $"/jobs/{job}"));
            Assert.Equal([200], StatusCodes(delivery!));
        }
    }

    [Fact]
    public async Task A_retried_submission_keeps_the_first_requests_callback()
    {
        await using var first = await WebhookReceiver.StartAsync();
        await using var second = await WebhookReceiver.StartAsync();
        await using var host = StartApi();
        var client = host.CreateClient();
        const string job = """{ "kind": "train", "architecture": "convnet", "callback": { "url": "URL", "secret": "SECRET" } }""";

        var created = await client.PostJsonAsync("/jobs", job.Replace("URL", first.Url).Replace("SECRET", Secret), idempotencyKey: "webhook-retry-1");
        var retried = await client.PostJsonAsync("/jobs", job.Replace("URL", second.Url).Replace("SECRET", Secret), idempotencyKey: "webhook-retry-1");

        Assert.Equal((HttpStatusCode.Accepted, HttpStatusCode.OK), (created.StatusCode, retried.StatusCode));
        var jobId = Guid.Parse((await retried.ReadJsonAsync())["id"]!.GetValue<string>());
        await CancelAsync(client, jobId);
        await first.WaitForAsync(1);
        var delivery = await WaitForDeliveryAsync(client, $"/jobs/{jobId}", d => d["status"]!.GetValue<string>() == "delivered", "the delivery");
        Assert.Equal(first.Url, delivery["url"]!.GetValue<string>());
        Assert.Single(await DeliveriesAsync(client, $"/jobs/{jobId}"));
        Assert.Empty(second.Received);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Waited 30 s for {what}.");
            await Task.Delay(20);
        }
    }
}

public sealed class SqliteWebhookTests(ITestOutputHelper output) : WebhookTests(output)
{
    protected override bool Postgres => false;
}

public sealed class PostgresWebhookTests(ITestOutputHelper output) : WebhookTests(output)
{
    protected override bool Postgres => true;
}
