using System.Net;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts;

namespace TrainingService.Api.Tests;

public abstract partial class ApiContractTests
{
    [Fact]
    public async Task Cancelling_a_queued_job_cancels_it_at_once_and_it_can_never_start()
    {
        var id = await CreateTrainJobAsync();

        var response = await Client.PostAsync($"/jobs/{id}/cancel", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("cancelled", (await response.ReadJsonAsync())["status"]!.GetValue<string>());
        Assert.Equal("cancelled", (await GetJobAsync(id))["status"]!.GetValue<string>());
        var now = DateTimeOffset.UtcNow;
        Assert.Null(await Factory.Store.TryStartAttemptAsync(id, Guid.NewGuid(), "w", "cpu", now, now, CancellationToken.None));
    }

    [Fact]
    public async Task Cancelling_a_running_job_answers_202_with_it_cancelling()
    {
        var id = await CreateTrainJobAsync();
        await Driver.StartAsync(id);

        var response = await Client.PostAsync($"/jobs/{id}/cancel", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal($"/jobs/{id}", response.Headers.Location!.OriginalString);
        var job = await response.ReadJsonAsync();
        Assert.Equal("cancelling", job["status"]!.GetValue<string>());
        Assert.Equal(1, job["attempt"]!.GetValue<int>());
        Assert.Equal("test-worker", job["worker"]!.GetValue<string>());

        // Asking again changes nothing and says the same.
        var again = await Client.PostAsync($"/jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        Assert.Equal("cancelling", (await again.ReadJsonAsync())["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Cancelling_a_finished_job_gives_409_and_changes_nothing()
    {
        var succeeded = await CreateTrainJobAsync();
        await Driver.SucceedAsync(succeeded, 1);
        var failed = await CreateTrainJobAsync();
        var lease = await Driver.StartAsync(failed);
        await Driver.FinishAsync(failed, lease, JobStatus.Failed, error: new JobError(JobErrorKind.User, "The loss became NaN."));

        await (await Client.PostAsync($"/jobs/{succeeded}/cancel", null)).AssertProblemAsync(HttpStatusCode.Conflict);
        await (await Client.PostAsync($"/jobs/{failed}/cancel", null)).AssertProblemAsync(HttpStatusCode.Conflict);

        Assert.Equal("succeeded", (await GetJobAsync(succeeded))["status"]!.GetValue<string>());
        var failedJob = await GetJobAsync(failed);
        Assert.Equal("failed", failedJob["status"]!.GetValue<string>());
        Assert.Equal("user", failedJob["error"]!["kind"]!.GetValue<string>());
        Assert.Equal("The loss became NaN.", failedJob["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Cancelling_an_unknown_job_gives_404()
    {
        await (await Client.PostAsync($"/jobs/{Guid.NewGuid()}/cancel", null)).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await Client.PostAsync("/jobs/nope/cancel", null)).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_finished_job_shows_its_result_times_and_progress()
    {
        var id = await CreateTrainJobAsync();
        var lease = await Driver.StartAsync(id);
        await Driver.ProgressAsync(id, lease, 1, 200);
        var running = await GetJobAsync(id);
        Assert.Equal("running", running["status"]!.GetValue<string>());
        Assert.Equal(200, running["progress"]!["step"]!.GetValue<long>());
        Assert.Equal(469, running["progress"]!["stepsPerEpoch"]!.GetValue<long>());
        Assert.NotNull(running["startedAt"]);
        Assert.Null(running["finishedAt"]);

        await Driver.RecordEpochAsync(id, lease, 1);
        var confusion = Enumerable.Range(0, 10).Select(i => Enumerable.Range(0, 10).Select(j => i == j ? 1000L : 0L).ToArray()).ToArray();
        await Driver.FinishAsync(id, lease, JobStatus.Succeeded,
            new JobResult(0.9912, 0.031, 0.9912, 0.031, 1, confusion, [.. Enumerable.Repeat(1.0, 10)]));

        var job = await GetJobAsync(id);
        Assert.Equal("succeeded", job["status"]!.GetValue<string>());
        Assert.EndsWith("Z", job["finishedAt"]!.GetValue<string>());
        var result = job["result"]!;
        Assert.Equal(0.9912, result["finalTestAccuracy"]!.GetValue<double>());
        Assert.Equal(1, result["bestEpoch"]!.GetValue<int>());
        Assert.Equal(1000, result["confusionMatrix"]![3]![3]!.GetValue<long>());
        Assert.Equal(10, result["perClassAccuracy"]!.AsArray().Count);
    }
}
