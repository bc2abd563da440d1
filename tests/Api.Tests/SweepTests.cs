using System.Net;
using System.Text.Json.Nodes;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Tests;

/// <summary>
/// <c>/sweeps</c> through the real pipeline: validation like <c>POST /jobs</c> with errors named by
/// axis and index, points turned into jobs no more than <c>maxConcurrent</c> at a time by the
/// scheduler, the comparison over seeds, and cancellation. Jobs are driven through the store as a
/// worker would drive them.
/// </summary>
public abstract partial class ApiContractTests
{
    private static readonly TimeSpan SchedulerWait = TimeSpan.FromSeconds(60);

    private static string SweepBody(string grid, int maxConcurrent = 2, string baseJob = """{ "kind": "train", "architecture": "convnet", "hyperparameters": { "epochs": 2 } }""") =>
        $$"""{ "name": "study", "base": {{baseJob}}, "grid": {{grid}}, "maxConcurrent": {{maxConcurrent}} }""";

    private async Task<int> CountSweepsAsync() =>
        (await (await Client.GetAsync("/sweeps?limit=200")).ReadJsonAsync())["items"]!.AsArray().Count;

    [Theory]
    [InlineData("""{ "base": { "kind": "eval", "source": { "jobId": "0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e", "checkpoint": "final" } }, "grid": { "seed": [1] } }""", "base.kind")]
    [InlineData("""{ "grid": { "seed": [1] } }""", "base")]
    [InlineData("""{ "base": { "architecture": "vgg" }, "grid": { "seed": [1] } }""", "base.architecture")]
    [InlineData("""{ "base": { "architecture": "convnet" }, "grid": { "colour": [1] } }""", "grid.colour")]
    [InlineData("""{ "base": { "architecture": "convnet" }, "grid": { "seed": [] } }""", "grid.seed")]
    [InlineData("""{ "base": { "architecture": "convnet" }, "grid": { "seed": [1, 1] } }""", "grid.seed")]
    [InlineData("""{ "base": { "architecture": "convnet" }, "grid": {} }""", "grid")]
    [InlineData("""{ "base": { "architecture": "convnet" }, "grid": { "seed": [1] }, "maxConcurrent": 0 }""", "maxConcurrent")]
    [InlineData("""{ "base": { "architecture": "convnet" }, "grid": { "seed": [1] }, "colour": "red" }""", "colour")]
    [InlineData("""{ "base": { "architecture": "convnet", "epochs": 3 }, "grid": { "seed": [1] } }""", "base.epochs")]
    [InlineData("""{ "base": { "architecture": "convnet" }, "grid": { "seed": 1 } }""", "grid.seed")]
    public async Task A_bad_sweep_is_a_400_naming_the_field_and_stores_nothing(string body, string field)
    {
        var sweepsBefore = await CountSweepsAsync();
        var response = await AssertNothingStoredAsync(() => Client.PostJsonAsync("/sweeps", body));

        var errors = await response.AssertValidationProblemAsync();
        Assert.Contains(field, errors.Keys);
        Assert.Equal(sweepsBefore, await CountSweepsAsync());
    }

    [Fact]
    public async Task Each_bad_grid_value_is_named_by_axis_and_index_and_a_grid_too_large_is_refused()
    {
        var response = await AssertNothingStoredAsync(() => Client.PostJsonAsync("/sweeps",
            SweepBody("""{ "batchSize": [32, 0, 70000], "learningRate": ["fast", 0.01], "architecture": ["convnet", "vgg"] }""")));
        var errors = await response.AssertValidationProblemAsync();
        Assert.Equal(["grid.architecture[1]", "grid.batchSize[1]", "grid.batchSize[2]", "grid.learningRate[0]"], errors.Keys.Order(StringComparer.Ordinal));

        var seeds = string.Join(", ", Enumerable.Range(1, 50));
        var tooLarge = await AssertNothingStoredAsync(() => Client.PostJsonAsync("/sweeps",
            SweepBody($$"""{ "seed": [{{seeds}}], "batchSize": [8, 16, 32, 64, 128, 256] }""")));
        Assert.Contains("300", (await tooLarge.AssertValidationProblemAsync())["grid"][0]);
    }

    [Fact]
    public async Task A_sweep_runs_its_points_a_few_at_a_time_and_compares_them_over_seeds()
    {
        var response = await Client.PostJsonAsync("/sweeps", SweepBody("""{ "batchSize": [32, 64], "seed": [1, 2] }"""));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var sweep = await response.ReadJsonAsync();
        var id = sweep["id"]!.GetValue<string>();
        Assert.Equal($"/sweeps/{id}", response.Headers.Location!.OriginalString);
        Assert.Equal("running", sweep["status"]!.GetValue<string>());
        Assert.Equal(4, sweep["points"]!.AsArray().Count);

        // The first two points have jobs at once; the others wait for a free slot.
        var points = sweep["points"]!.AsArray();
        Assert.NotNull(points[0]!["jobId"]);
        Assert.NotNull(points[1]!["jobId"]);
        Assert.Null(points[2]!["jobId"]);
        var first = await GetJobAsync(Guid.Parse(points[0]!["jobId"]!.GetValue<string>()));
        Assert.Equal("study [batchSize=32 seed=1]", first["name"]!.GetValue<string>());
        Assert.Equal(32, first["hyperparameters"]!["batchSize"]!.GetValue<int>());
        Assert.Equal(1, first["hyperparameters"]!["seed"]!.GetValue<long>());
        Assert.Equal(2, first["hyperparameters"]!["epochs"]!.GetValue<int>());
        Assert.Contains($"sweep-{id}", first["tags"]!.AsArray().Select(t => t!.GetValue<string>()));

        // Each run: final accuracy by point; epoch 2 reaches 99 % for batch size 32 only.
        double[] finals = [0.990, 0.994, 0.980, 0.982];
        for (var point = 0; point < 4; point++)
        {
            var jobId = await WaitForPointJobAsync(id, point);
            await RunToEndAsync(jobId, finals[point]);
            // Never more than two of its jobs unfinished.
            var current = await (await Client.GetAsync($"/sweeps/{id}")).ReadJsonAsync();
            Assert.True(current["points"]!.AsArray().Count(p => p!["status"] is { } s && s.GetValue<string>() is "queued" or "running") <= 2);
        }

        var done = await WaitForSweepAsync(id, "succeeded");
        Assert.NotNull(done["finishedAt"]);
        var rows = done["comparison"]!.AsArray();
        Assert.Equal(2, rows.Count);
        var row32 = rows.Single(r => r!["values"]!["batchSize"]!.GetValue<int>() == 32)!;
        Assert.Null(row32["values"]!["seed"]);
        Assert.Equal(2, row32["runs"]!.GetValue<int>());
        Assert.Equal(2, row32["succeeded"]!.GetValue<int>());
        Assert.Equal(0.992, row32["finalTestAccuracy"]!["mean"]!.GetValue<double>(), 9);
        Assert.Equal(Math.Sqrt(0.000008), row32["finalTestAccuracy"]!["std"]!.GetValue<double>(), 9);
        Assert.Equal(2.0, row32["epochsTo99"]!["mean"]!.GetValue<double>());
        var row64 = rows.Single(r => r!["values"]!["batchSize"]!.GetValue<int>() == 64)!;
        Assert.Equal(0.981, row64["finalTestAccuracy"]!["mean"]!.GetValue<double>(), 9);
        Assert.Null(row64["epochsTo99"]);

        await (await Client.PostAsync($"/sweeps/{id}/cancel", null)).AssertProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Cancelling_a_sweep_cancels_its_jobs_and_creates_no_more()
    {
        var sweep = await (await Client.PostJsonAsync("/sweeps", SweepBody("""{ "seed": [1, 2, 3] }""", maxConcurrent: 1))).ReadJsonAsync();
        var id = sweep["id"]!.GetValue<string>();
        var firstJob = Guid.Parse(sweep["points"]![0]!["jobId"]!.GetValue<string>());

        var response = await Client.PostAsync($"/sweeps/{id}/cancel", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("cancelled", (await response.ReadJsonAsync())["status"]!.GetValue<string>());
        Assert.Equal("cancelled", (await GetJobAsync(firstJob))["status"]!.GetValue<string>());
        // The first job's slot is free now, yet later scheduler passes create nothing.
        var jobs = await (await Client.GetAsync($"/jobs?tag=sweep-{id}")).ReadJsonAsync();
        Assert.Single(jobs["items"]!.AsArray());
        await Task.Delay(TimeSpan.FromSeconds(1)); // several passes at the tests' 200 ms interval
        var after = await (await Client.GetAsync($"/sweeps/{id}")).ReadJsonAsync();
        Assert.Equal("cancelled", after["status"]!.GetValue<string>());
        Assert.Single(after["points"]!.AsArray(), p => p!["jobId"] is not null);

        await (await Client.GetAsync($"/sweeps/{Guid.NewGuid()}")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await Client.PostAsync($"/sweeps/not-an-id/cancel", null)).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    private async Task<Guid> WaitForPointJobAsync(string sweepId, int point)
    {
        var deadline = DateTime.UtcNow + SchedulerWait;
        while (true)
        {
            var sweep = await (await Client.GetAsync($"/sweeps/{sweepId}")).ReadJsonAsync();
            if (sweep["points"]![point]!["jobId"] is { } jobId)
                return Guid.Parse(jobId.GetValue<string>());
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"Point {point} of sweep {sweepId} got no job within {SchedulerWait}.");
            await Task.Delay(100);
        }
    }

    private async Task<JsonNode> WaitForSweepAsync(string sweepId, string status)
    {
        var deadline = DateTime.UtcNow + SchedulerWait;
        while (true)
        {
            var sweep = await (await Client.GetAsync($"/sweeps/{sweepId}")).ReadJsonAsync();
            if (sweep["status"]!.GetValue<string>() == status)
                return sweep;
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"Sweep {sweepId} is {sweep["status"]} after {SchedulerWait}, not {status}.");
            await Task.Delay(100);
        }
    }

    /// <summary>Two epochs (the second at <paramref name="finalAccuracy"/>), then success, as a worker would record them.</summary>
    private async Task RunToEndAsync(Guid jobId, double finalAccuracy)
    {
        var lease = await Driver.StartAsync(jobId);
        foreach (var (epoch, accuracy) in new[] { (1, 0.97), (2, finalAccuracy) })
        {
            Assert.Equal(EpochWrite.Recorded, await Factory.Epochs.RecordEpochAsync(jobId, lease,
                new EpochMetrics(epoch, 0.1, 0.97, 0.05, accuracy, 0.001, 10, 2000), JobDriver.Trained, DateTimeOffset.UtcNow, CancellationToken.None));
        }
        await Driver.FinishAsync(jobId, lease, JobStatus.Succeeded, new JobResult(finalAccuracy, 0.05, finalAccuracy, 0.05, 2, null, null));
    }
}
