using System.Net;
using System.Text.Json.Nodes;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts;

namespace TrainingService.Api.Tests;

/// <summary>
/// What a CI pipeline reads from a job: whether its figures met the submission's <c>expect</c>, every
/// attempt with why it ended, the job's termination reason, its progress as a fraction with an ETA,
/// and the trace its submission started.
/// </summary>
public abstract partial class ApiContractTests
{
    private static string ExpectBody(string expect, string kind = "train") => kind == "train"
        ? $$"""{ "kind": "train", "architecture": "convnet", "tags": ["expect"], "expect": {{expect}} }"""
        : $$"""{ "kind": "eval", "source": { "jobId": "{{Guid.NewGuid()}}" }, "expect": {{expect}} }""";

    [Theory]
    [InlineData("""{ "testAccuracy": 0.99 }""", "expect.testAccuracy")]
    [InlineData("""{ "accuracy": { "min": 0.99 } }""", "expect.accuracy")]
    [InlineData("""{ "testAccuracy": {} }""", "expect.testAccuracy")]
    [InlineData("""{ "testAccuracy": { "min": "high" } }""", "expect.testAccuracy.min")]
    [InlineData("""{ "testAccuracy": { "min": 0.99, "atLeast": 1 } }""", "expect.testAccuracy.atLeast")]
    [InlineData("""{ "testAccuracy": { "min": 0.99, "max": 0.9 } }""", "expect.testAccuracy")]
    [InlineData("""[ "testAccuracy" ]""", "expect")]
    public async Task A_bad_expectation_is_a_400_naming_it_and_stores_nothing(string expect, string field)
    {
        var response = await AssertNothingStoredAsync(() => Client.PostJsonAsync("/jobs", ExpectBody(expect)));

        Assert.Contains(field, (await response.AssertValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task An_eval_job_cannot_expect_a_best_epoch()
    {
        var response = await AssertNothingStoredAsync(() => Client.PostJsonAsync("/jobs", ExpectBody("""{ "bestTestAccuracy": { "min": 0.9 } }""", kind: "eval")));

        Assert.Contains("expect.bestTestAccuracy", (await response.AssertValidationProblemAsync()).Keys);
    }

    [Fact]
    public async Task A_succeeded_job_says_per_expectation_the_value_and_whether_it_held_and_whether_all_did()
    {
        var met = await CreateTrainJobAsync(ExpectBody("""{ "testAccuracy": { "min": 0.95 }, "wallSeconds": { "max": 3600 } }"""));
        var missed = await CreateTrainJobAsync(ExpectBody("""{ "testAccuracy": { "min": 0.995 }, "testLoss": { "max": 1 } }"""));
        var none = await CreateTrainJobAsync();
        foreach (var id in new[] { met, missed, none })
            await Driver.SucceedAsync(id, epochs: 2); // test accuracy 0.98 after epoch 2 (JobDriver.Metrics)

        var metResult = (await GetJobAsync(met))["result"]!;
        Assert.True(metResult["passed"]!.GetValue<bool>());
        Assert.Equal(["testAccuracy", "wallSeconds"], metResult["expectations"]!.AsArray().Select(e => e!["figure"]!.GetValue<string>()));
        Assert.All(metResult["expectations"]!.AsArray(), e => Assert.True(e!["held"]!.GetValue<bool>()));

        var missedJob = await GetJobAsync(missed);
        Assert.Equal("succeeded", missedJob["status"]!.GetValue<string>()); // the run itself succeeded; its figures did not
        Assert.False(missedJob["result"]!["passed"]!.GetValue<bool>());
        var byFigure = missedJob["result"]!["expectations"]!.AsArray().ToDictionary(e => e!["figure"]!.GetValue<string>());
        Assert.False(byFigure["testAccuracy"]!["held"]!.GetValue<bool>());
        Assert.Equal(JobDriver.Metrics(2).TestAccuracy, byFigure["testAccuracy"]!["value"]!.GetValue<double>());
        Assert.Equal(0.995, byFigure["testAccuracy"]!["min"]!.GetValue<double>());
        Assert.True(byFigure["testLoss"]!["held"]!.GetValue<bool>());
        Assert.Equal(0.995, missedJob["expect"]!["testAccuracy"]!["min"]!.GetValue<double>());

        var noneResult = (await GetJobAsync(none))["result"]!;
        Assert.True(noneResult["passed"]!.GetValue<bool>());
        Assert.Empty(noneResult["expectations"]!.AsArray());
    }

    [Fact]
    public async Task Every_attempt_is_listed_with_its_reason_and_the_job_with_its_termination_reason()
    {
        var id = await CreateTrainJobAsync();
        var first = await Driver.StartAsync(id);
        await Driver.ProgressAsync(id, first, epoch: 1, step: 10);
        await Driver.FinishAsync(id, first, JobStatus.Interrupted, reason: TerminationReason.WorkerLost,
            error: new JobError(JobErrorKind.Infrastructure, "Worker test-worker stopped sending heartbeats during attempt 1."));
        var interrupted = await GetJobAsync(id);
        Assert.Null(interrupted["terminationReason"]);
        Assert.Equal("worker-lost", interrupted["attempts"]![0]!["reason"]!.GetValue<string>());

        await Driver.SucceedAsync(id, epochs: 1);

        var job = await GetJobAsync(id);
        Assert.Equal("succeeded", job["terminationReason"]!.GetValue<string>());
        var attempts = job["attempts"]!.AsArray();
        Assert.Equal([1, 2], attempts.Select(a => a!["number"]!.GetValue<int>()));
        Assert.Equal(["worker-lost", "succeeded"], attempts.Select(a => a!["reason"]!.GetValue<string>()));
        Assert.Equal((1, 10L), (attempts[0]!["reachedEpoch"]!.GetValue<int>(), attempts[0]!["reachedStep"]!.GetValue<long>()));
        Assert.Contains("heartbeats", attempts[0]!["message"]!.GetValue<string>());
        Assert.All(attempts, a => Assert.NotNull(a!["endedAt"]));
        // Listings carry no attempts (one query per page, not per job).
        var listed = (await (await Client.GetAsync("/jobs?limit=200")).ReadJsonAsync())["items"]!.AsArray().Single(j => j!["id"]!.GetValue<string>() == id.ToString());
        Assert.Null(listed!["attempts"]);
        Assert.Equal("succeeded", listed["terminationReason"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_running_jobs_progress_is_a_fraction_of_the_run_with_an_estimated_completion()
    {
        var id = await CreateTrainJobAsync();
        var lease = await Driver.StartAsync(id);
        await Driver.ProgressAsync(id, lease, epoch: 2, step: 50);

        var progress = (await GetJobAsync(id))["progress"]!;
        var epochs = progress["epochs"]!.GetValue<int>();
        var steps = progress["stepsPerEpoch"]!.GetValue<long>();
        Assert.Equal((steps + 50) / (double)(epochs * steps), progress["fraction"]!.GetValue<double>(), 9);
        var updated = progress["updatedAt"]!.GetValue<DateTimeOffset>();
        Assert.Equal(updated.AddSeconds(progress["etaSeconds"]!.GetValue<double>()), progress["estimatedCompletionAt"]!.GetValue<DateTimeOffset>(), TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public async Task A_job_continues_the_trace_of_the_request_that_submitted_it()
    {
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = new StringContent(TrainBody(), System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("traceparent", $"00-{traceId}-00f067aa0ba902b7-01");

        var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>());
        Assert.Equal(traceId, (await GetJobAsync(id))["traceId"]!.GetValue<string>());
        Assert.Equal(traceId, (await Factory.Store.GetAsync(id, CancellationToken.None))!.TraceParent![3..35]);
    }
}
