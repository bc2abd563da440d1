using System.Net;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts;
using TrainingService.Tests.Shared;

namespace TrainingService.Api.Tests;

/// <summary>
/// Races over HTTP, run as races (<see cref="Race"/>): two requests released together, many times.
/// Each round must end in the one allowed outcome, and across the rounds every path to it must have
/// happened. (Two API instances allocating the same sweep trial belongs with random-search sweeps,
/// whose trials are allocated one by one; a grid's points are planned at submission.)
/// </summary>
public abstract partial class ApiContractTests
{
    [Fact]
    public async Task An_idempotent_submission_racing_itself_stores_and_queues_one_job_and_answers_both_with_it()
    {
        var tag = NewTag();
        var queuedBefore = EnqueuedCount();
        var counts = await Race.RunAsync(["the first request stored it", "the second request stored it"], async (round, together) =>
        {
            var key = $"race-{tag}-{round}";
            var answers = await together([
                async () => await Client.PostJsonAsync("/jobs", TrainBody(tag: tag), key),
                async () => await Client.PostJsonAsync("/jobs", TrainBody(tag: tag), key),
            ]);
            var responses = answers.Cast<HttpResponseMessage>().ToList();
            // One stored it (202), the other got that job back (200): the same job, the same Location.
            Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Accepted], responses.Select(r => r.StatusCode).Order());
            var jobs = await Task.WhenAll(responses.Select(async r => (await r.ReadJsonAsync()).ToJsonString()));
            Assert.Equal(jobs[0], jobs[1]);
            Assert.Equal(responses[0].Headers.Location, responses[1].Headers.Location);
            return responses[0].StatusCode == HttpStatusCode.Accepted ? "the first request stored it" : "the second request stored it";
        }, name: $"{GetType().Name}: idempotent submission");

        var rounds = counts.Values.Sum();
        var listed = await (await Client.GetAsync($"/jobs?tag={tag}&limit=200")).ReadJsonAsync();
        Assert.Equal(rounds, listed["items"]!.AsArray().Count);
        Assert.Equal(queuedBefore + rounds, EnqueuedCount());
    }

    [Fact]
    public async Task A_cancel_racing_the_jobs_completion_answers_by_which_came_first_and_the_job_ends_succeeded()
    {
        await Race.RunAsync(["finished first: 409", "cancel first: 202"], async (round, together) =>
        {
            var id = await CreateTrainJobAsync();
            var lease = await Driver.StartAsync(id);
            var result = new JobResult(0.99, 0.03, 0.99, 0.03, 1, null, null);
            var answers = await together([
                async () => await Client.PostAsync($"/jobs/{id}/cancel", null),
                async () =>
                {
                    // The store call is quicker than a request through the pipeline: a random
                    // millisecond or two of head start for the request lets either come first.
                    await Task.Delay(Random.Shared.Next(0, 3));
                    return await Factory.Store.FinishAttemptAsync(id, lease, JobStatus.Succeeded, TerminationReason.Succeeded, result, null, DateTimeOffset.UtcNow, CancellationToken.None);
                },
            ]);
            var cancel = (HttpResponseMessage)answers[0]!;
            Assert.True((bool)answers[1]!, $"round {round}: the worker's completion was refused");

            // The completion stands either way: the job ran to its end.
            var job = await GetJobAsync(id);
            Assert.Equal("succeeded", job["status"]!.GetValue<string>());
            Assert.Equal(0.99, job["result"]!["finalTestAccuracy"]!.GetValue<double>());
            switch (cancel.StatusCode)
            {
                case HttpStatusCode.Conflict:
                    await cancel.AssertProblemAsync(HttpStatusCode.Conflict);
                    return "finished first: 409";
                case HttpStatusCode.Accepted:
                    // Recorded as asked for while it ran; the answer shows the job as it was then read.
                    Assert.Contains((await cancel.ReadJsonAsync())["status"]!.GetValue<string>(), new[] { "cancelling", "succeeded" });
                    return "cancel first: 202";
                default:
                    return $"answered {(int)cancel.StatusCode}: {await cancel.Content.ReadAsStringAsync()}";
            }
        }, name: $"{GetType().Name}: cancel vs completion");
    }
}
