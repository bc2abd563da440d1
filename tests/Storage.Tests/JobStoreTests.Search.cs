using System.Text.Json;
using TrainingService.Contracts;

namespace TrainingService.Storage.Tests;

/// <summary>
/// Migrations 50 and 51 on each engine: a sweep's search (method, space, seed, early-stopping rule),
/// a trial allocated its job once, early-stopping decisions stored once, and a job the search stops
/// ending with its reason whatever the worker says.
/// </summary>
public abstract partial class JobStoreTests
{
    private static SweepRecord RandomSweep(DateTimeOffset createdAt) => NewSweep(createdAt) with
    {
        Grid = [],
        Points = [.. new[] { 0.001, 0.003, 0.0005 }.Select(rate =>
            (IReadOnlyDictionary<string, JsonElement>)new Dictionary<string, JsonElement> { ["learningRate"] = JsonSerializer.SerializeToElement(rate) })],
        Search = new SweepSearch
        {
            Method = SweepMethod.Random,
            Space = [new SearchDimension("learningRate", DistributionKind.LogUniform, [JsonSerializer.SerializeToElement(0.0001), JsonSerializer.SerializeToElement(0.01)])],
            Seed = 7,
            EarlyStopping = new EarlyStoppingRule(EarlyStoppingKind.Asha, StoppingMetric.TestLoss, 1, 3, 3),
        },
    };

    [Fact]
    public async Task A_random_sweep_keeps_its_space_seed_and_rule_and_an_older_sweep_reads_as_a_grid()
    {
        var sweep = RandomSweep(T0);
        await Sweeps.CreateSweepAsync(sweep, None);

        var stored = (await Sweeps.GetSweepAsync(sweep.Id, None))!;
        Assert.Equal(SweepMethod.Random, stored.Search.Method);
        Assert.Equal(7, stored.Search.Seed);
        Assert.Equal(sweep.Search.EarlyStopping, stored.Search.EarlyStopping);
        var dimension = Assert.Single(stored.Search.Space);
        Assert.Equal(("learningRate", DistributionKind.LogUniform), (dimension.Name, dimension.Distribution));
        Assert.Equal([0.0001, 0.01], dimension.Values.Select(v => v.GetDouble()));
        Assert.Equal(["learningRate"], stored.Axes);
        Assert.Equal([0.001, 0.003, 0.0005], stored.Points.Select(p => p["learningRate"].GetDouble()));

        // A sweep stored before migration 50 has no search: a grid without early stopping.
        var old = NewSweep(T0.AddSeconds(1));
        await Sweeps.CreateSweepAsync(old, None);
        await Database.ExecuteAsync("UPDATE sweeps SET search = NULL WHERE id = @Id", new { Id = Database.Id(old.Id) }, None);
        var read = (await Sweeps.GetSweepAsync(old.Id, None))!;
        Assert.Equal(SweepMethod.Grid, read.Search.Method);
        Assert.Null(read.Search.EarlyStopping);
        Assert.Equal(["batchSize", "seed"], read.Axes);
    }

    [Fact]
    public async Task A_trial_is_allocated_one_job_and_a_second_allocation_stores_nothing()
    {
        var sweep = RandomSweep(T0);
        await Sweeps.CreateSweepAsync(sweep, None);
        var first = NewJob(idempotencyKey: "\u001etrial-0");
        // Another process's job for the same trial: its own id, even its own key; only the (sweep, point) key is shared.
        var second = NewJob(idempotencyKey: "\u001etrial-0-other");

        var (allocated, created) = await Sweeps.AllocateTrialAsync(sweep.Id, 0, first, None);
        var (again, createdAgain) = await Sweeps.AllocateTrialAsync(sweep.Id, 0, second, None);

        Assert.True(created);
        Assert.Equal(first.Id, allocated.Id);
        Assert.False(createdAgain);
        Assert.Equal(first.Id, again.Id);
        Assert.Null(await Store.GetAsync(second.Id, None)); // rolled back with its link
        Assert.Equal([(0, first.Id)], (await Sweeps.GetSweepJobsAsync(sweep.Id, None)).Select(j => (j.Point, j.Job.Id)));

        // Another trial's job under a key already taken is refused by the jobs' unique key (trial keys name
        // their point, so only a bug could ask this), and that trial stays free.
        await Assert.ThrowsAsync<InvalidOperationException>(() => Sweeps.AllocateTrialAsync(sweep.Id, 1, NewJob(idempotencyKey: "\u001etrial-0"), None));
        Assert.Single(await Sweeps.GetSweepJobsAsync(sweep.Id, None));
        Assert.True((await Sweeps.AllocateTrialAsync(sweep.Id, 1, NewJob(idempotencyKey: "\u001etrial-1"), None)).Created);
    }

    [Fact]
    public async Task A_decision_is_stored_once_per_trial_and_epoch()
    {
        var sweep = RandomSweep(T0);
        await Sweeps.CreateSweepAsync(sweep, None);
        var (job, _) = await Sweeps.AllocateTrialAsync(sweep.Id, 0, NewJob(), None);
        var (other, _) = await Sweeps.AllocateTrialAsync(sweep.Id, 1, NewJob(), None);
        var first = new SweepDecision(0, job.Id, 1, 0.25, null, 0, false, T0);
        var stop = new SweepDecision(1, other.Id, 1, 0.31, 0.25, 1, true, T0.AddSeconds(1));

        Assert.True(await Sweeps.TryRecordDecisionAsync(sweep.Id, first, None));
        Assert.True(await Sweeps.TryRecordDecisionAsync(sweep.Id, stop, None));
        Assert.False(await Sweeps.TryRecordDecisionAsync(sweep.Id, first with { Stop = true, Value = 0.9 }, None));
        Assert.True(await Sweeps.TryRecordDecisionAsync(sweep.Id, first with { Epoch = 3, Cutoff = 0.2, Compared = 1 }, None));

        Assert.Equal([first, first with { Epoch = 3, Cutoff = 0.2, Compared = 1 }, stop], await Sweeps.GetDecisionsAsync(sweep.Id, None));
        Assert.Empty(await Sweeps.GetDecisionsAsync(Guid.NewGuid(), None));
    }

    [Fact]
    public async Task A_job_the_search_stops_ends_stopped_by_search_whatever_its_attempt_says_and_a_persons_cancel_stays_cancelled()
    {
        // Running: the worker sees a cancel and ends its attempt cancelled; the job takes the reason it was stopped for.
        var (running, lease) = await CreateRunningAsync();
        Assert.Equal(CancelOutcome.CancellationRequested, await Store.RequestCancelAsync(running.Id, TerminationReason.StoppedBySearch, T0.AddSeconds(1), None));
        Assert.Equal(CancelOutcome.AlreadyCancelling, await Store.RequestCancelAsync(running.Id, T0.AddSeconds(2), None)); // the first reason stays
        Assert.True(await Store.FinishAttemptAsync(running.Id, lease, JobStatus.Cancelled, TerminationReason.Cancelled, null, null, T0.AddSeconds(3), None));
        var stopped = await GetAsync(running.Id);
        Assert.Equal((JobStatus.Cancelled, TerminationReason.StoppedBySearch), (stopped.Status, stopped.TerminationReason));
        Assert.Equal(TerminationReason.StoppedBySearch, (await Attempts.ListAttemptsAsync(running.Id, None)).Single().Reason);

        // Queued: it ends at once, stopped by the search.
        var queued = await CreateAsync(NewJob());
        Assert.Equal(CancelOutcome.CancelledBeforeStart, await Store.RequestCancelAsync(queued.Id, TerminationReason.StoppedBySearch, T0, None));
        Assert.Equal(TerminationReason.StoppedBySearch, (await GetAsync(queued.Id)).TerminationReason);

        // Stopping, then its worker lost: the reaper's requeue makes it cancelled, still stopped by the search.
        var (lost, lostLease) = await CreateRunningAsync();
        await Store.RequestCancelAsync(lost.Id, TerminationReason.StoppedBySearch, T0.AddSeconds(1), None);
        Assert.True(await Store.FinishAttemptAsync(lost.Id, lostLease, JobStatus.Interrupted, TerminationReason.WorkerLost, null, null, T0.AddSeconds(90), None));
        Assert.Equal((JobStatus.Cancelled, TerminationReason.StoppedBySearch), ((await GetAsync(lost.Id)).Status, (await GetAsync(lost.Id)).TerminationReason));
        Assert.Equal(TerminationReason.WorkerLost, (await Attempts.ListAttemptsAsync(lost.Id, None)).Single().Reason);

        // A person's cancel reads as one.
        var (cancelled, cancelledLease) = await CreateRunningAsync();
        await Store.RequestCancelAsync(cancelled.Id, T0.AddSeconds(1), None);
        Assert.True(await Store.FinishAttemptAsync(cancelled.Id, cancelledLease, JobStatus.Cancelled, TerminationReason.Cancelled, null, null, T0.AddSeconds(3), None));
        Assert.Equal(TerminationReason.Cancelled, (await GetAsync(cancelled.Id)).TerminationReason);
        Assert.Equal(TerminationReason.Cancelled, (await Attempts.ListAttemptsAsync(cancelled.Id, None)).Single().Reason);
    }
}
