using TrainingService.ServiceDefaults;
using System.Net;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using TrainingService.Api.Jobs;
using TrainingService.Api.Tests.Infrastructure;
using TrainingService.Contracts;

namespace TrainingService.Api.Tests;

public abstract partial class ApiContractTests
{
    private static readonly TimeSpan SweepWait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_submitted_job_is_enqueued_in_the_background_and_marked_dispatched()
    {
        // With the sweep an hour away, only the background hand-over can enqueue the job.
        await using var api = Factory.WithWebHostBuilder(builder => builder.UseSetting("JobsApi:DispatchSweepInterval", "01:00:00"));
        var queuedBefore = EnqueuedCount();

        var response = await api.CreateClient().PostJsonAsync("/jobs", TrainBody());

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>());
        await WaitUntilAsync(async () => !(await Factory.Store.ListUndispatchedAsync(DateTimeOffset.UtcNow.AddHours(1), 1000, CancellationToken.None))
            .Any(j => j.Id == id), "the job to be marked dispatched");
        Assert.Equal(queuedBefore + 1, EnqueuedCount());
    }

    [Fact]
    public async Task A_job_whose_enqueue_failed_is_still_accepted_and_the_sweep_enqueues_it_once()
    {
        var queue = new FailingDispatcher { Failing = true };
        await using var flaky = Factory.WithWebHostBuilder(builder =>
        {
            builder.UseSetting("JobsApi:DispatchSweepInterval", "00:00:00.200");
            builder.ConfigureTestServices(services =>
            {
                services.AddSingleton<HangfireJobDispatcher>();
                services.AddSingleton<IJobDispatcher>(sp => queue.Wrapping(sp.GetRequiredService<HangfireJobDispatcher>()));
            });
        });
        var client = flaky.CreateClient();
        var queuedBefore = EnqueuedCount();

        var response = await client.PostJsonAsync("/jobs", TrainBody());

        // Stored and accepted although the queue refused it; nothing is enqueued while it keeps refusing.
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>());
        Assert.Equal("queued", (await GetJobAsync(id))["status"]!.GetValue<string>());
        await WaitUntilAsync(() => queue.Refusals >= 2, "the sweep to retry the refused hand-over");
        Assert.Equal(queuedBefore, EnqueuedCount());

        queue.Failing = false;
        await WaitUntilAsync(() => EnqueuedCount() == queuedBefore + 1, "the sweep to enqueue the job");
        await WaitUntilAsync(async () => !(await Factory.Store.ListUndispatchedAsync(DateTimeOffset.UtcNow.AddHours(1), 1000, CancellationToken.None))
            .Any(j => j.Id == id), "the job to be marked dispatched");

        // Later sweeps leave it alone: one queue entry, not one per sweep.
        var outbox = flaky.Services.GetRequiredService<JobOutbox>();
        var callsThen = queue.Calls;
        var sweepsThen = outbox.CompletedSweeps;
        await WaitUntilAsync(() => outbox.CompletedSweeps >= sweepsThen + 3, "three more sweeps");
        Assert.Equal(callsThen, queue.Calls);
        Assert.Equal(queuedBefore + 1, EnqueuedCount());
    }

    [Fact]
    public async Task A_job_on_a_queue_no_live_worker_serves_fails_as_a_user_error_while_others_wait()
    {
        await using var api = Factory.WithWebHostBuilder(builder =>
        {
            builder.UseSetting("JobsApi:UnservedQueueTimeout", "00:00:00.500");
            builder.UseSetting("JobsApi:DispatchSweepInterval", "00:00:00.200");
        });
        var client = api.CreateClient();
        var outbox = api.Services.GetRequiredService<JobOutbox>();
        var cudaBody = TrainBody(hyperparameters: """{ "device": "cuda" }""");
        // Other tests of this class register workers of their own; this one needs to know the fleet.
        foreach (var other in await Factory.Workers.ListWorkersAsync(DateTimeOffset.MinValue, CancellationToken.None))
            await Factory.Workers.RemoveWorkerAsync(other.Id, CancellationToken.None);

        // No worker alive at all (say, during a restart): nothing is failed, however long it waits.
        var waiting = Guid.Parse((await (await client.PostJsonAsync("/jobs", cudaBody)).ReadJsonAsync())["id"]!.GetValue<string>());
        var sweeps = outbox.CompletedSweeps;
        await WaitUntilAsync(() => outbox.CompletedSweeps >= sweeps + 4, "a few sweeps");
        Assert.Equal("queued", (await GetJobAsync(waiting))["status"]!.GetValue<string>());

        // A CPU-only fleet: the cuda job fails, saying why; a job any worker can take keeps waiting for one.
        var worker = new WorkerRecord("cpu-box:1", "cpu-box", ["cpu", "default"], "cpu", null, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
        await Factory.Workers.UpsertWorkerAsync(worker, CancellationToken.None);
        try
        {
            var cuda = Guid.Parse((await (await client.PostJsonAsync("/jobs", cudaBody)).ReadJsonAsync())["id"]!.GetValue<string>());
            var auto = await CreateTrainJobAsync();
            await WaitUntilAsync(async () => (await GetJobAsync(cuda))["status"]!.GetValue<string>() == "failed", "the cuda job to fail");

            var failed = await GetJobAsync(cuda);
            Assert.Equal("user", failed["error"]!["kind"]!.GetValue<string>());
            Assert.Contains("gpu queue", failed["error"]!["message"]!.GetValue<string>());
            Assert.Contains("cpu-box:1", failed["error"]!["message"]!.GetValue<string>());
            Assert.Equal(0, failed["attempt"]!.GetValue<int>());
            Assert.NotNull(failed["finishedAt"]);
            sweeps = outbox.CompletedSweeps;
            await WaitUntilAsync(() => outbox.CompletedSweeps >= sweeps + 3, "more sweeps");
            Assert.Equal("queued", (await GetJobAsync(auto))["status"]!.GetValue<string>());
        }
        finally
        {
            await Factory.Workers.RemoveWorkerAsync(worker.Id, CancellationToken.None);
        }
    }

    private static Task WaitUntilAsync(Func<bool> condition, string what) => WaitUntilAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + SweepWait;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"Gave up after {SweepWait} waiting for {what}.");
            await Task.Delay(50);
        }
    }

    /// <summary>The real dispatcher behind a switch that makes it throw, as an unreachable queue would.</summary>
    private sealed class FailingDispatcher
    {
        private int calls;
        private int refusals;

        public volatile bool Failing;

        public int Calls => Volatile.Read(ref calls);

        public int Refusals => Volatile.Read(ref refusals);

        public IJobDispatcher Wrapping(IJobDispatcher real) => new Switch(this, real);

        private sealed class Switch(FailingDispatcher owner, IJobDispatcher real) : IJobDispatcher
        {
            public void Dispatch(JobRecord job)
            {
                Interlocked.Increment(ref owner.calls);
                if (owner.Failing)
                {
                    Interlocked.Increment(ref owner.refusals);
                    throw new InvalidOperationException("The queue's storage is unreachable (test).");
                }
                real.Dispatch(job);
            }
        }
    }
}
