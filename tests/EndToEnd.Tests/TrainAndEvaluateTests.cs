using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using TrainingService.Tests.Shared;

namespace TrainingService.EndToEnd.Tests;

/// <summary>
/// The API and a worker as separate processes on PostgreSQL, driven over HTTP the way a CI
/// script or a dashboard would: submit a short real training job, follow its metrics stream to
/// the end, download its final checkpoint, and evaluate that checkpoint with an eval job; and
/// upload a dataset, train on it, evaluate on it and delete it.
/// </summary>
public sealed class TrainAndEvaluateTests : IAsyncLifetime
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(4);

    private TestDatabase database = null!;
    private ServiceProcess api = null!;
    private ServiceProcess worker = null!;
    private HttpClient http = null!;

    public async Task InitializeAsync()
    {
        database = await TestDatabase.CreateAsync();
        var checkpoints = Directory.CreateTempSubdirectory("trainingservice-e2e-").FullName;
        var environment = new Dictionary<string, string>
        {
            ["Storage__PostgresConnectionString"] = database.ConnectionString,
            ["Checkpoints__Root"] = checkpoints,
            ["Mnist__DataDirectory"] = Repository.MnistDirectory,
            ["Mnist__Download"] = "false",
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
        };
        var port = ServiceProcess.FreePort();
        api = ServiceProcess.Start(Repository.Program("Api", "TrainingService.Api"),
            // Authentication (on by default with PostgreSQL) is the API tests' subject, not this one's.
            new Dictionary<string, string>(environment) { ["Auth__Enabled"] = "false" }, "--urls", $"http://127.0.0.1:{port}");
        worker = ServiceProcess.Start(Repository.Program("Worker", "TrainingService.Worker"), environment);
        http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(5) };
        await WaitUntilReadyAsync();
    }

    private async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(api.HasExited, "the API exited:\n" + api.Output);
            try
            {
                if ((await http.GetAsync("/health/ready")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { /* not listening yet */ }
            await Task.Delay(500);
        }
        Assert.Fail("the API did not become ready:\n" + api.Output);
    }

    [Fact]
    public async Task ATrainingJobStreamsEveryEpochOnceAndItsCheckpointEvaluatesToTheSameAccuracy()
    {
        var submitted = await http.PostAsJsonAsync("/jobs", new
        {
            kind = "train",
            architecture = "convnet",
            name = "e2e",
            tags = new[] { "e2e" },
            hyperparameters = new { epochs = 2, batchSize = 100, trainSubset = 3000, seed = 3, device = "cpu" },
        });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var job = (await submitted.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = (string)job["id"]!;
        Assert.Equal($"/jobs/{id}", submitted.Headers.Location?.OriginalString);

        // Follow the live stream from the start to the final event.
        var (epochIds, end) = await ReadMetricsStreamAsync(id);
        Assert.Equal(["1", "2"], epochIds);
        Assert.Equal("succeeded", (string)end!["status"]!);

        var finished = (await http.GetFromJsonAsync<JsonObject>($"/jobs/{id}"))!;
        Assert.Equal(1, (int)finished["attempt"]!);
        var trainAccuracy = (double)finished["result"]!["finalTestAccuracy"]!;
        Assert.InRange(trainAccuracy, 0.5, 1.0);
        var metrics = (await http.GetFromJsonAsync<JsonArray>($"/jobs/{id}/metrics"))!;
        Assert.Equal([1, 2], metrics.Select(m => (int)m!["epoch"]!));
        Assert.Equal(trainAccuracy, (double)metrics[1]!["testAccuracy"]!, 12);

        // The final checkpoint downloads intact: its bytes hash to the listed SHA-256.
        var listing = (await http.GetFromJsonAsync<JsonObject>($"/jobs/{id}/checkpoints"))!;
        var listed = listing["checkpoints"]!.AsArray().Single(c => (int)c!["epoch"]! == 2)!;
        using var download = await http.GetAsync($"/jobs/{id}/checkpoints/final");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        var weights = await download.Content.ReadAsByteArrayAsync();
        Assert.Equal((long)listed["sizeBytes"]!, weights.Length);
        Assert.Equal((string)listed["sha256"]!, Convert.ToHexStringLower(SHA256.HashData(weights)));

        // Evaluating that checkpoint gives the training job's final test accuracy back.
        var eval = await http.PostAsJsonAsync("/jobs", new { kind = "eval", source = new { jobId = id, checkpoint = "final" } });
        Assert.Equal(HttpStatusCode.Accepted, eval.StatusCode);
        var evalId = (string)(await eval.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        var evaluated = await WaitForTerminalAsync(evalId);
        Assert.Equal("succeeded", (string)evaluated["status"]!);
        Assert.Equal(trainAccuracy, (double)evaluated["result"]!["finalTestAccuracy"]!, 4);
        Assert.Equal(10, evaluated["result"]!["confusionMatrix"]!.AsArray().Count);

        // A worker stopped the way a container runtime stops it exits cleanly.
        Assert.Equal(0, await worker.StopAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task AnUploadedDatasetIsTrainedOnAndEvaluatedThroughTheServiceAndThenDeleted()
    {
        // A small real dataset: the first 1,000 training and 200 test images of MNIST, repackaged as
        // four IDX files (the training images gzipped), as a user would upload their own.
        var files = IdxTestFiles.MnistSubset(Repository.MnistDirectory, trainCount: 1000, testCount: 200);
        using var form = new MultipartFormDataContent();
        foreach (var (field, name) in new[] { ("trainImages", "train-images-idx3-ubyte"), ("trainLabels", "train-labels-idx1-ubyte"), ("testImages", "t10k-images-idx3-ubyte"), ("testLabels", "t10k-labels-idx1-ubyte") })
            form.Add(new ByteArrayContent(field == "trainImages" ? IdxTestFiles.Gzip(files[name]) : files[name]), field, name);
        form.Add(new StringContent("first digits"), "name");
        var uploaded = await http.PostAsync("/datasets", form);
        Assert.True(uploaded.StatusCode == HttpStatusCode.Created, await uploaded.Content.ReadAsStringAsync());
        var dataset = (string)(await uploaded.Content.ReadFromJsonAsync<JsonObject>())!["name"]!;

        var submitted = await http.PostAsJsonAsync("/jobs", new
        {
            kind = "train", architecture = "convnet", dataset,
            hyperparameters = new { epochs = 2, batchSize = 32, seed = 3, device = "cpu" },
        });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var trained = await WaitForTerminalAsync((string)(await submitted.Content.ReadFromJsonAsync<JsonObject>())!["id"]!);
        Assert.True((string)trained["status"]! == "succeeded", trained.ToJsonString());
        Assert.Equal(dataset, (string)trained["dataset"]!);
        // Tested on the upload's own 200 test images, not MNIST's 10,000.
        Assert.Equal(200, trained["result"]!["confusionMatrix"]!.AsArray().Sum(row => row!.AsArray().Sum(c => (long)c!)));
        var accuracy = (double)trained["result"]!["finalTestAccuracy"]!;
        Assert.InRange(accuracy, 0.4, 1.0); // chance is 0.1

        // The eval takes its source's dataset.
        var eval = await http.PostAsJsonAsync("/jobs", new { kind = "eval", source = new { jobId = (string)trained["id"]!, checkpoint = "final" } });
        Assert.Equal(HttpStatusCode.Accepted, eval.StatusCode);
        var evaluated = await WaitForTerminalAsync((string)(await eval.Content.ReadFromJsonAsync<JsonObject>())!["id"]!);
        Assert.Equal(("succeeded", dataset), ((string)evaluated["status"]!, (string)evaluated["dataset"]!));
        Assert.Equal(accuracy, (double)evaluated["result"]!["finalTestAccuracy"]!, 4);

        // Nothing uses it any more: it can go.
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"/datasets/{dataset}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/datasets/{dataset}")).StatusCode);
    }

    /// <summary>Reads SSE frames until the <c>end</c> event: the ids of the epoch events, and the end event's job.</summary>
    private async Task<(List<string> EpochIds, JsonObject? End)> ReadMetricsStreamAsync(string id)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/jobs/{id}/metrics");
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var timeout = new CancellationTokenSource(JobTimeout);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        var epochIds = new List<string>();
        string? eventName = null, eventId = null;
        var data = new List<string>();
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.Length == 0)
            {
                if (eventName == "epoch") epochIds.Add(eventId!);
                if (eventName == "end") return (epochIds, JsonNode.Parse(string.Join("\n", data))!.AsObject());
                (eventName, eventId) = (null, null);
                data.Clear();
            }
            else if (line.StartsWith("event:")) eventName = line[6..].Trim();
            else if (line.StartsWith("id:")) eventId = line[3..].Trim();
            else if (line.StartsWith("data:")) data.Add(line[5..].TrimStart());
        }
        Assert.Fail($"the stream ended without an end event; epochs seen: {string.Join(",", epochIds)}\nworker:\n{worker.Output}");
        return default;
    }

    private async Task<JsonObject> WaitForTerminalAsync(string id)
    {
        var deadline = DateTime.UtcNow + JobTimeout;
        while (DateTime.UtcNow < deadline)
        {
            var job = (await http.GetFromJsonAsync<JsonObject>($"/jobs/{id}"))!;
            if ((string)job["status"]! is "succeeded" or "failed" or "cancelled") return job;
            await Task.Delay(250);
        }
        Assert.Fail($"job {id} did not finish\nworker:\n{worker.Output}");
        return null!;
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        await worker.DisposeAsync();
        await api.DisposeAsync();
        await database.DisposeAsync();
    }
}
