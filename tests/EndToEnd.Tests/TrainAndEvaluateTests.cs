using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using TrainingService.Client;
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
        // Submitted and read through the client generated from docs/openapi.json.
        var client = new TrainingServiceClient(http) { ReadResponseAsString = true };
        var job = await client.CreateJobAsync(new CreateJobRequest
        {
            Kind = "train",
            Architecture = "convnet",
            Name = "e2e",
            Tags = ["e2e"],
            Hyperparameters = new Client.Hyperparameters { Epochs = 2, BatchSize = 100, TrainSubset = 3000, Seed = 3, Device = "cpu" },
            Expect = new Dictionary<string, Client.ExpectationBound> { ["testAccuracy"] = new() { Min = 0.5 }, ["wallSeconds"] = new() { Max = 600 } },
        });
        var id = job.Id.ToString();
        Assert.Equal(Client.JobStatus.Queued, job.Status);
        Assert.NotNull(job.TraceId);

        // Follow the live stream from the start to the final event (raw SSE: the generated client has no stream reader).
        var (epochIds, end) = await ReadMetricsStreamAsync(id);
        Assert.Equal(["1", "2"], epochIds);
        Assert.Equal("succeeded", (string)end!["status"]!);

        var finished = await client.GetJobAsync(id);
        Assert.Equal(1, finished.Attempt);
        Assert.Equal("succeeded", finished.TerminationReason);
        Assert.Equal(["succeeded"], finished.Attempts!.Select(a => a.Reason));
        Assert.True(finished.Result!.Passed);
        var trainAccuracy = finished.Result.FinalTestAccuracy;
        Assert.InRange(trainAccuracy, 0.5, 1.0);
        var metrics = await client.GetJobMetricsAsync(id);
        Assert.Equal([1, 2], metrics.Select(m => m.Epoch));
        Assert.Equal(trainAccuracy, metrics.Last().TestAccuracy, 12);

        // The final checkpoint downloads intact: its bytes hash to the listed SHA-256.
        var listed = (await client.ListJobCheckpointsAsync(id)).Checkpoints.Single(c => c.Epoch == 2);
        using var download = await client.DownloadJobCheckpointAsync(id, "final");
        using var weights = new MemoryStream();
        await download.Stream.CopyToAsync(weights);
        Assert.Equal(listed.SizeBytes, weights.Length);
        Assert.Equal(listed.Sha256, Convert.ToHexStringLower(SHA256.HashData(weights.ToArray())));

        // Evaluating that checkpoint gives the training job's final test accuracy back; the one request waits for it.
        var eval = await client.CreateJobAsync(new CreateJobRequest { Kind = "eval", Source = new Source { JobId = job.Id, Checkpoint = JsonDocument.Parse("\"final\"").RootElement } });
        var evaluated = await client.GetJobAsync(eval.Id.ToString(), wait: (int)JobTimeout.TotalSeconds);
        Assert.Equal(Client.JobStatus.Succeeded, evaluated.Status);
        Assert.Equal(trainAccuracy, evaluated.Result!.FinalTestAccuracy, 4);
        Assert.Equal(10, evaluated.Result.ConfusionMatrix!.Count);

        // A worker stopped the way a container runtime stops it exits cleanly.
        Assert.Equal(0, await worker.StopAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task TheCliGatesACiPipelineOnAJobsFiguresWithItsExitCode()
    {
        string[] submit = ["jobs", "submit", "--architecture", "convnet", "--epochs", "1", "--train-subset", "1000", "--batch-size", "100", "--device", "cpu", "--wait"];

        var met = await CliAsync([.. submit, "--expect", "testAccuracy>=0.2", "--expect", "wallSeconds<=600"]);
        var missed = await CliAsync([.. submit, "--expect", "testAccuracy>=0.9999"]);
        var invalid = await CliAsync("jobs", "submit", "--architecture", "convnet", "--epochs", "0");

        Assert.True(met.ExitCode == 0, met.Output);
        Assert.Contains("held", met.Output);
        Assert.True(missed.ExitCode == 3, missed.Output);
        Assert.Contains("MISSED testAccuracy >= 0.9999", missed.Output);
        Assert.True(invalid.ExitCode == 2, invalid.Output);
        Assert.Contains("--epochs: Must be between 1 and 1000", invalid.Output);
        // The first line on stdout is the job's id, for a script to keep.
        var id = Guid.Parse(met.Output.Split('\n')[0]);
        Assert.Equal("succeeded", (string)(await http.GetFromJsonAsync<JsonObject>($"/jobs/{id}"))!["status"]!);
    }

    /// <summary>Runs the CLI against the API under test; returns its exit code and what it printed (stdout first).</summary>
    private async Task<(int ExitCode, string Output)> CliAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Repository.Program("Cli", "trainingservice"));
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        start.Environment["TRAININGSERVICE_URL"] = http.BaseAddress!.ToString();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(JobTimeout);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task AnUploadedDatasetIsTrainedOnAndEvaluatedThroughTheServiceAndThenDeleted()
    {
        var client = new TrainingServiceClient(http) { ReadResponseAsString = true };
        // A small real dataset: the first 1,000 training and 200 test images of MNIST, repackaged as
        // four IDX files (the training images gzipped), as a user would upload their own.
        var files = IdxTestFiles.MnistSubset(Repository.MnistDirectory, trainCount: 1000, testCount: 200);
        FileParameter File(string name, bool gzip = false) => new(new MemoryStream(gzip ? IdxTestFiles.Gzip(files[name]) : files[name]), name);
        var uploaded = await client.UploadDatasetAsync(
            File("train-images-idx3-ubyte", gzip: true), File("train-labels-idx1-ubyte"),
            File("t10k-images-idx3-ubyte"), File("t10k-labels-idx1-ubyte"), name: "first digits");
        var dataset = uploaded.Name;

        var submitted = await client.CreateJobAsync(new CreateJobRequest
        {
            Kind = "train", Architecture = "convnet", Dataset = dataset,
            Hyperparameters = new Client.Hyperparameters { Epochs = 2, BatchSize = 32, Seed = 3, Device = "cpu" },
        });
        var trained = await WaitForEndAsync(client, submitted.Id);
        Assert.True(trained.Status == Client.JobStatus.Succeeded, trained.Error?.Message);
        Assert.Equal(dataset, trained.Dataset);
        // Tested on the upload's own 200 test images, not MNIST's 10,000.
        Assert.Equal(200, trained.Result!.ConfusionMatrix!.Sum(row => row.Sum()));
        var accuracy = trained.Result.FinalTestAccuracy;
        Assert.InRange(accuracy, 0.4, 1.0); // chance is 0.1

        // The eval takes its source's dataset.
        var eval = await client.CreateJobAsync(new CreateJobRequest { Kind = "eval", Source = new Source { JobId = trained.Id, Checkpoint = JsonDocument.Parse("\"final\"").RootElement } });
        var evaluated = await WaitForEndAsync(client, eval.Id);
        Assert.Equal((Client.JobStatus.Succeeded, dataset), (evaluated.Status, evaluated.Dataset));
        Assert.Equal(accuracy, evaluated.Result!.FinalTestAccuracy, 4);

        // Nothing uses it any more: it can go.
        await client.DeleteDatasetAsync(dataset);
        var gone = await Assert.ThrowsAsync<ApiException<ProblemDetails>>(() => client.GetDatasetAsync(dataset));
        Assert.Equal(404, gone.StatusCode);
    }

    /// <summary>Waits for the job to end with the API's long poll (<c>?wait=</c>), a request at a time.</summary>
    private static async Task<JobResponse> WaitForEndAsync(TrainingServiceClient client, Guid id)
    {
        var deadline = DateTime.UtcNow + JobTimeout;
        while (true)
        {
            var job = await client.GetJobAsync(id.ToString(), wait: 60);
            if (job.Status is not (Client.JobStatus.Queued or Client.JobStatus.Running or Client.JobStatus.Cancelling or Client.JobStatus.Interrupted))
                return job;
            Assert.True(DateTime.UtcNow < deadline, $"job {id} still {job.Status} after {JobTimeout}");
        }
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

    public async Task DisposeAsync()
    {
        http.Dispose();
        await worker.DisposeAsync();
        await api.DisposeAsync();
        await database.DisposeAsync();
    }
}
