using System.Text.Json;
using TrainingService.Api.Sweeps;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts;
using Xunit.Abstractions;

namespace TrainingService.Api.Tests;

/// <summary>
/// Two API processes (two real hosts on one database, each with its own scheduler, store and
/// connection pool) advance the same sweep at the same instant, released together, many times over:
/// a sweep must never get more jobs than it has trials (W&amp;B's agents over-allocated exactly so), nor
/// a trial two jobs, nor a job be enqueued twice — and the race must actually have been run: in some
/// repetition both reached the allocation of the same trial and one found it taken.
/// </summary>
public abstract class TrialAllocationRaceTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Repetitions = 25;
    private const int Trials = 6;
    private const int MaxConcurrent = 3;

    private RestartableApi api = null!;

    protected abstract bool Postgres { get; }

    public async Task InitializeAsync() => api = await RestartableApi.CreateAsync(Postgres);

    public async Task DisposeAsync() => await api.DisposeAsync();

    [Fact]
    public async Task Two_API_processes_racing_for_a_sweeps_trials_never_create_more_jobs_than_it_has_trials()
    {
        // The background passes wait ten minutes: only the passes released below run.
        var settings = new Dictionary<string, string?> { ["JobsApi:SweepSchedulerInterval"] = "00:10:00" };
        var hosts = new[] { api.Start(settings), api.Start(settings) };
        var store = hosts[0].Get<IJobStore>();
        var sweeps = hosts[0].Get<ISweepStore>();
        var allocators = hosts.Select(h => h.Get<TrialAllocator>()).ToArray();

        var contendedRepetitions = 0;
        for (var repetition = 0; repetition < Repetitions; repetition++)
        {
            var sweep = await NewSweepAsync(hosts[0], repetition);
            await sweeps.CreateSweepAsync(sweep, CancellationToken.None);
            var createdBefore = allocators.Sum(a => a.Created);
            var contendedBefore = allocators.Sum(a => a.Contended);

            // Round one takes the first three trials; the jobs end; round two the other three; round three finds none left.
            for (var round = 0; round < 3; round++)
            {
                await RaceAsync(hosts, sweep.Id);
                foreach (var job in await sweeps.GetSweepJobsAsync(sweep.Id, CancellationToken.None))
                    await store.RequestCancelAsync(job.Job.Id, DateTimeOffset.UtcNow, CancellationToken.None);
            }

            var jobs = await store.ListAsync(new JobQuery(Tag: TrialJobs.Tag(sweep.Id), Limit: 200), CancellationToken.None);
            var links = await sweeps.GetSweepJobsAsync(sweep.Id, CancellationToken.None);
            Assert.True(jobs.Count <= Trials, $"Repetition {repetition}: {jobs.Count} jobs for a sweep of {Trials} trials.");
            Assert.Equal(Trials, jobs.Count);
            Assert.Equal(Enumerable.Range(0, Trials), links.Select(l => l.Point));
            Assert.Equal(jobs.Select(j => j.Id).Order(), links.Select(l => l.Job.Id).Order());
            // Each trial's job was created (and handed to the queue) by exactly one of the two.
            Assert.Equal(Trials, allocators.Sum(a => a.Created) - createdBefore);
            if (allocators.Sum(a => a.Contended) > contendedBefore)
                contendedRepetitions++;
        }
        output.WriteLine($"{contendedRepetitions} of {Repetitions} repetitions had both processes allocate the same trial.");
        Assert.True(contendedRepetitions > 0, "The two processes never reached the allocation of the same trial: the race was not run.");
    }

    /// <summary>Both hosts' schedulers advance the sweep, released at the same instant.</summary>
    private static async Task RaceAsync(RestartableApi.Host[] hosts, Guid sweepId)
    {
        using var start = new Barrier(hosts.Length);
        await Task.WhenAll(hosts.Select(host => Task.Run(async () =>
        {
            var scheduler = host.Get<SweepScheduler>();
            start.SignalAndWait();
            await scheduler.AdvanceAsync(sweepId, CancellationToken.None);
        })));
    }

    private static async Task<SweepRecord> NewSweepAsync(RestartableApi.Host host, int repetition)
    {
        var request = JsonSerializer.Deserialize<CreateSweepRequest>($$"""
            {
              "name": "race {{repetition}}",
              "method": "random", "trials": {{Trials}}, "seed": {{repetition}},
              "space": { "learningRate": { "logUniform": [0.0001, 0.01] } },
              "base": { "architecture": "convnet", "hyperparameters": { "epochs": 1 } },
              "maxConcurrent": {{MaxConcurrent}}
            }
            """, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        var plan = await SweepPlanner.BuildAsync(request, host.Get<IJobStore>(), host.Get<ICheckpointIndex>(), StoredTime.Truncate(DateTimeOffset.UtcNow), CancellationToken.None);
        Assert.Empty(plan.Errors);
        return plan.Sweep!;
    }
}

public sealed class PostgresTrialAllocationRaceTests(ITestOutputHelper output) : TrialAllocationRaceTests(output)
{
    protected override bool Postgres => true;
}

public sealed class SqliteTrialAllocationRaceTests(ITestOutputHelper output) : TrialAllocationRaceTests(output)
{
    protected override bool Postgres => false;
}
