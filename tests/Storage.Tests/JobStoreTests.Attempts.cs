using TrainingService.Contracts;

namespace TrainingService.Storage.Tests;

/// <summary>Each attempt is a record: written when it starts, completed when it ends, whoever ends it.</summary>
public abstract partial class JobStoreTests
{
    [Fact]
    public async Task Each_attempt_is_recorded_with_where_it_started_where_it_got_and_why_it_ended()
    {
        var job = await CreateAsync(NewJob());

        var first = Guid.NewGuid();
        Assert.NotNull(await Store.TryStartAttemptAsync(job.Id, first, "worker-a", "cpu", T0, T0, None));
        Assert.True(await Attempts.RecordStartPointAsync(job.Id, first, 1, 0, None));
        Assert.True(await Store.UpdateProgressAsync(job.Id, first, new JobProgress(2, 3, 40, 100, 900, 60, 0.2, 0.9, T0.AddSeconds(20)), T0.AddSeconds(20), None));
        // The worker was lost: whoever notices ends its attempt (the reaper, under the attempt's own lease).
        Assert.True(await Store.FinishAttemptAsync(job.Id, first, JobStatus.Interrupted, TerminationReason.WorkerLost, null,
            new JobError(JobErrorKind.Infrastructure, "worker-a stopped sending heartbeats"), T0.AddSeconds(90), None));

        var second = Guid.NewGuid();
        Assert.NotNull(await Store.TryStartAttemptAsync(job.Id, second, "worker-b", "cpu", T0.AddSeconds(95), T0, None));
        Assert.False(await Attempts.RecordStartPointAsync(job.Id, first, 9, 9, None)); // the lost attempt's lease is no longer current
        Assert.True(await Attempts.RecordStartPointAsync(job.Id, second, 2, 30, None));
        Assert.True(await Store.UpdateProgressAsync(job.Id, second, new JobProgress(3, 3, 100, 100, 900, 0, 0.1, 0.97, T0.AddSeconds(200)), T0.AddSeconds(200), None));
        Assert.True(await Store.FinishAttemptAsync(job.Id, second, JobStatus.Succeeded, TerminationReason.Succeeded,
            new JobResult(0.99, 0.03, 0.99, 0.03, 3, null, null), null, T0.AddSeconds(201), None));

        Assert.Equal(
        [
            new JobAttempt(1, "worker-a", "cpu", T0, T0.AddSeconds(90), TerminationReason.WorkerLost, "worker-a stopped sending heartbeats", 1, 0, 2, 40),
            new JobAttempt(2, "worker-b", "cpu", T0.AddSeconds(95), T0.AddSeconds(201), TerminationReason.Succeeded, null, 2, 30, 3, 100),
        ], await Attempts.ListAttemptsAsync(job.Id, None));
        Assert.Equal(TerminationReason.Succeeded, (await GetAsync(job.Id)).TerminationReason);
    }

    [Fact]
    public async Task A_stale_attempt_taken_over_before_the_reaper_came_ends_worker_lost_where_it_last_reported()
    {
        var job = await CreateAsync(NewJob());
        var first = Guid.NewGuid();
        Assert.NotNull(await Store.TryStartAttemptAsync(job.Id, first, "worker-a", "cpu", T0, T0, None));
        Assert.True(await Store.UpdateProgressAsync(job.Id, first, new JobProgress(2, 3, 40, 100, 900, 60, 0.2, 0.9, T0.AddSeconds(20)), T0.AddSeconds(20), None));

        // Still 'running', heartbeats stale: another worker takes it up directly.
        var second = Guid.NewGuid();
        Assert.NotNull(await Store.TryStartAttemptAsync(job.Id, second, "worker-b", "cpu", T0.AddSeconds(95), staleBefore: T0.AddSeconds(60), None));

        var attempts = await Attempts.ListAttemptsAsync(job.Id, None);
        Assert.Equal(2, attempts.Count);
        Assert.Equal((T0.AddSeconds(95), TerminationReason.WorkerLost, 2, 40L), (attempts[0].EndedAt, attempts[0].Reason, attempts[0].ReachedEpoch, attempts[0].ReachedStep));
        Assert.Contains("worker-b", attempts[0].Message);
        Assert.Equal(("worker-b", (DateTimeOffset?)null, (TerminationReason?)null), (attempts[1].Worker, attempts[1].EndedAt, attempts[1].Reason));
    }

    [Fact]
    public async Task A_job_that_ends_without_an_attempt_says_why()
    {
        var cancelled = await CreateAsync(NewJob());
        var unserved = await CreateAsync(NewJob());

        await Store.RequestCancelAsync(cancelled.Id, T0, None);
        await Store.FailUnstartedAsync(unserved.Id, new JobError(JobErrorKind.User, "no worker takes the gpu queue"), T0, None);

        Assert.Equal(TerminationReason.Cancelled, (await GetAsync(cancelled.Id)).TerminationReason);
        Assert.Equal(TerminationReason.NoWorker, (await GetAsync(unserved.Id)).TerminationReason);
        Assert.Empty(await Attempts.ListAttemptsAsync(cancelled.Id, None));
    }

    [Fact]
    public async Task A_requeued_attempt_leaves_the_job_without_a_termination_reason_and_a_cancelled_one_with_cancelled()
    {
        var requeued = await CreateAsync(NewJob());
        var lease = Guid.NewGuid();
        await Store.TryStartAttemptAsync(requeued.Id, lease, "w", "cpu", T0, T0, None);
        Assert.True(await Store.FinishAttemptAsync(requeued.Id, lease, JobStatus.Queued, TerminationReason.ShutdownHandback, null, null, T0.AddSeconds(1), None));
        Assert.Null((await GetAsync(requeued.Id)).TerminationReason);
        Assert.Equal(TerminationReason.ShutdownHandback, (await Attempts.ListAttemptsAsync(requeued.Id, None)).Single().Reason);

        // Cancelled while running, then the worker stopped (not at a step boundary): the job ends cancelled.
        var cancelled = await CreateAsync(NewJob());
        var other = Guid.NewGuid();
        await Store.TryStartAttemptAsync(cancelled.Id, other, "w", "cpu", T0, T0, None);
        await Store.RequestCancelAsync(cancelled.Id, T0.AddSeconds(1), None);
        Assert.True(await Store.FinishAttemptAsync(cancelled.Id, other, JobStatus.Interrupted, TerminationReason.WorkerLost, null, null, T0.AddSeconds(2), None));
        var job = await GetAsync(cancelled.Id);
        Assert.Equal((JobStatus.Cancelled, TerminationReason.Cancelled), (job.Status, job.TerminationReason));
        Assert.Equal(TerminationReason.WorkerLost, (await Attempts.ListAttemptsAsync(cancelled.Id, None)).Single().Reason);
    }
}
