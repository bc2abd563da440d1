using TrainingService.Contracts;
using TrainingService.Tests.Shared;

namespace TrainingService.Storage.Tests;

/// <summary>
/// Races run as races (<see cref="Race"/>): two store objects, each with a connection pool of its
/// own on the same database — two worker processes — released together many times. Each round must
/// end in the one allowed outcome, and across the rounds every way of getting there must have
/// happened, or the contenders never really overlapped.
/// </summary>
public abstract partial class JobStoreTests
{
    [Fact]
    public async Task Two_workers_claiming_the_same_job_at_the_same_instant_start_it_exactly_once()
    {
        // Worker A and worker B: separate pools, each warmed up so that opening a first connection
        // does not hand one of them the race.
        var stores = new[] { Store, Open(_database).Jobs };
        foreach (var store in stores)
            await store.GetAsync(Guid.NewGuid(), None);

        var counts = await Race.RunAsync(["worker A started it", "worker B started it"], async (round, together) =>
        {
            var job = await CreateAsync(NewJob());
            var leases = new[] { Guid.NewGuid(), Guid.NewGuid() };
            var claims = await together([.. Enumerable.Range(0, 2).Select(w => (Func<Task<object?>>)(async () =>
                await stores[w].TryStartAttemptAsync(job.Id, leases[w], $"worker-{w}", "cpu", T0.AddSeconds(1), T0.AddSeconds(-29), None)))]);

            // Exactly one claim succeeds, and the job is that attempt's: attempt 1, its lease, its worker.
            var winners = Enumerable.Range(0, 2).Where(w => claims[w] is not null).ToList();
            var winner = Assert.Single(winners);
            var stored = await GetAsync(job.Id);
            Assert.Equal((JobStatus.Running, 1, leases[winner], $"worker-{winner}"), (stored.Status, stored.Attempt, stored.LeaseToken, stored.Worker));
            AssertSameJob(stored, (JobRecord)claims[winner]!);
            return winner == 0 ? "worker A started it" : "worker B started it";
        }, name: $"{Dialect}: two workers claim a job");
        Assert.Equal(counts.Values.Sum(), (await Store.ListAsync(new JobQuery(Status: JobStatus.Running, Limit: 1000), None)).Count);
    }

    [Fact]
    public async Task A_cancel_racing_a_start_ends_consistent_whichever_comes_first()
    {
        // The API (one pool) cancels while a worker (another) starts the job.
        var api = Store;
        var worker = Open(_database).Jobs;
        await worker.GetAsync(Guid.NewGuid(), None);

        await Race.RunAsync(["cancelled before it started", "cancel asked for once it was running"], async (round, together) =>
        {
            var job = await CreateAsync(NewJob());
            var lease = Guid.NewGuid();
            var answers = await together([
                async () => await api.RequestCancelAsync(job.Id, T0.AddSeconds(1), None),
                async () => await worker.TryStartAttemptAsync(job.Id, lease, "w", "cpu", T0.AddSeconds(1), T0.AddSeconds(-29), None),
            ]);
            var (outcome, started) = ((CancelOutcome)answers[0]!, (JobRecord?)answers[1]);
            var final = await GetAsync(job.Id);

            Assert.True(final.CancelRequested);
            switch (outcome)
            {
                case CancelOutcome.CancelledBeforeStart:
                    // The start found it cancelled and did nothing: it never runs.
                    Assert.Null(started);
                    Assert.Equal((JobStatus.Cancelled, 0, (Guid?)null), (final.Status, final.Attempt, final.LeaseToken));
                    return "cancelled before it started";
                case CancelOutcome.CancellationRequested:
                    // The start won: the attempt holds the job, and is told to stop at its next step.
                    Assert.NotNull(started);
                    Assert.Equal(JobStatus.Running, started.Status);
                    Assert.Equal((JobStatus.Cancelling, 1, (Guid?)lease), (final.Status, final.Attempt, final.LeaseToken));
                    return "cancel asked for once it was running";
                default:
                    Assert.Fail($"Round {round}: the cancel answered {outcome}.");
                    return "";
            }
        }, name: $"{Dialect}: cancel vs start");
    }

    [Fact]
    public async Task A_cancel_racing_the_jobs_completion_leaves_it_succeeded_whichever_comes_first()
    {
        var api = Store;
        var worker = Open(_database).Jobs;
        await worker.GetAsync(Guid.NewGuid(), None);
        var result = new JobResult(0.99, 0.03, 0.99, 0.03, 2, null, null);

        await Race.RunAsync(["finished, then the cancel came too late", "cancel asked for, then the worker finished"], async (round, together) =>
        {
            var (running, lease) = await CreateRunningAsync();
            var answers = await together([
                async () => await api.RequestCancelAsync(running.Id, T0.AddSeconds(5), None),
                async () => await worker.FinishAttemptAsync(running.Id, lease, JobStatus.Succeeded, TerminationReason.Succeeded, result, null, T0.AddSeconds(5), None),
            ]);
            var (outcome, finished) = ((CancelOutcome)answers[0]!, (bool)answers[1]!);
            var final = await GetAsync(running.Id);

            // The worker's completion stands either way: the job ran to its end, so it succeeded with
            // its result; it is never left cancelling (no attempt would end that) nor cancelled with a result.
            Assert.True(finished, $"round {round}: the worker's completion was refused");
            Assert.Equal((JobStatus.Succeeded, (Guid?)null, T0.AddSeconds(5)), (final.Status, final.LeaseToken, final.FinishedAt));
            Assert.Equal(Json(result), Json(final.Result));
            return outcome switch
            {
                CancelOutcome.AlreadyFinished when !final.CancelRequested => "finished, then the cancel came too late",
                CancelOutcome.CancellationRequested when final.CancelRequested => "cancel asked for, then the worker finished",
                _ => $"the cancel answered {outcome} with cancelRequested = {final.CancelRequested}",
            };
        }, name: $"{Dialect}: cancel vs completion");
    }
}
