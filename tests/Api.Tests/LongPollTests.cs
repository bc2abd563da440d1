using System.Diagnostics;
using System.Net;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts;

namespace TrainingService.Api.Tests;

/// <summary>
/// <c>?wait=</c>: a CI script's one blocking request. The answer comes as soon as the job or sweep
/// ends (well before the wait runs out), or with the current state once the wait is over.
/// </summary>
public abstract partial class ApiContractTests
{
    [Fact]
    public async Task Waiting_on_a_job_answers_as_soon_as_it_ends()
    {
        var id = await CreateTrainJobAsync();
        var lease = await Driver.StartAsync(id);
        var clock = Stopwatch.StartNew();

        var waiting = Client.GetAsync($"/jobs/{id}?wait=60");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(waiting.IsCompleted, "the answer came before the job ended");
        await Driver.RecordEpochAsync(id, lease, 1);
        await Driver.FinishAsync(id, lease, JobStatus.Succeeded, new JobResult(0.99, 0.03, 0.99, 0.03, 1, null, null));
        var response = await waiting;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("succeeded", (await response.ReadJsonAsync())["status"]!.GetValue<string>());
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Waiting_on_a_job_that_does_not_end_answers_with_its_state_when_the_wait_runs_out()
    {
        var id = await CreateTrainJobAsync();
        var clock = Stopwatch.StartNew();

        var response = await Client.GetAsync($"/jobs/{id}?wait=2");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("queued", (await response.ReadJsonAsync())["status"]!.GetValue<string>());
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task Waiting_on_a_finished_job_answers_at_once()
    {
        var id = await CreateTrainJobAsync();
        await Driver.SucceedAsync(id, epochs: 1);
        var clock = Stopwatch.StartNew();

        var response = await Client.GetAsync($"/jobs/{id}?wait=300");

        Assert.Equal("succeeded", (await response.ReadJsonAsync())["status"]!.GetValue<string>());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("301")]
    [InlineData("1.5")]
    [InlineData("soon")]
    [InlineData("")]
    public async Task A_bad_wait_is_a_400_naming_it(string wait)
    {
        var id = await CreateTrainJobAsync();

        foreach (var path in new[] { $"/jobs/{id}?wait={wait}", $"/sweeps/{Guid.NewGuid()}?wait={wait}" })
        {
            var errors = await (await Client.GetAsync(path)).AssertValidationProblemAsync();
            Assert.Equal(["wait"], errors.Keys);
        }
    }

    [Fact]
    public async Task Waiting_on_a_sweep_answers_once_its_last_job_ends()
    {
        var created = await Client.PostJsonAsync("/sweeps", SweepBody("""{ "seed": [1, 2] }""", maxConcurrent: 2));
        var sweepId = (await created.ReadJsonAsync())["id"]!.GetValue<string>();
        var waiting = Client.GetAsync($"/sweeps/{sweepId}?wait=60");

        var jobs = await WaitForSweepJobsAsync(sweepId, 2);
        Assert.False(waiting.IsCompleted, "the answer came before the sweep ended");
        foreach (var job in jobs)
            await Driver.SucceedAsync(job, epochs: 1);
        var response = await waiting;

        Assert.Equal("succeeded", (await response.ReadJsonAsync())["status"]!.GetValue<string>());
    }

    private async Task<IReadOnlyList<Guid>> WaitForSweepJobsAsync(string sweepId, int count)
    {
        var deadline = DateTime.UtcNow + SchedulerWait;
        while (true)
        {
            var points = (await (await Client.GetAsync($"/sweeps/{sweepId}")).ReadJsonAsync())["points"]!.AsArray();
            var jobs = points.Where(p => p!["jobId"] is not null).Select(p => Guid.Parse(p!["jobId"]!.GetValue<string>())).ToList();
            if (jobs.Count == count)
                return jobs;
            Assert.True(DateTime.UtcNow < deadline, $"the sweep has {jobs.Count} of {count} jobs after {SchedulerWait}");
            await Task.Delay(100);
        }
    }
}
