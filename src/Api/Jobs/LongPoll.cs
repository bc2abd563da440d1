using System.Globalization;
using TrainingService.Contracts;

namespace TrainingService.Api.Jobs;

/// <summary>
/// <c>?wait=SECONDS</c> on <c>GET /jobs/{id}</c> and <c>GET /sweeps/{id}</c>: the answer is held until the
/// job or sweep ends, or the wait runs out (then it is the current state), so a CI script blocks on one
/// request instead of polling. Nothing polls per waiting request: a job's waiters share the job's one
/// poller in <see cref="JobWatchHub"/> (as its streams do), and a sweep's waiter sleeps on one of its
/// unfinished jobs there.
/// </summary>
public static class LongPoll
{
    public const string Parameter = "wait";

    /// <summary>The wait asked for: absent is none; otherwise whole seconds from 0 to <paramref name="max"/>.</summary>
    public static bool TryParse(string? text, TimeSpan max, out TimeSpan wait, out Dictionary<string, string[]>? errors)
    {
        wait = TimeSpan.Zero;
        errors = null;
        if (text is null)
            return true;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds <= max.TotalSeconds)
        {
            wait = TimeSpan.FromSeconds(seconds);
            return true;
        }
        errors = new() { [Parameter] = [$"Must be a whole number of seconds from 0 to {(int)max.TotalSeconds} (JobsApi:MaxWait); got '{Infrastructure.Problems.Shorten(text)}'."] };
        return false;
    }

    /// <summary>The job once it has ended, or as it is when <paramref name="wait"/> runs out; null if it disappeared.</summary>
    public static async Task<JobRecord?> UntilJobEndsAsync(
        JobWatchHub hub, JobRecord job, TimeSpan wait, TimeProvider time, CancellationToken cancellationToken)
    {
        if (job.Status.IsTerminal() || wait <= TimeSpan.Zero)
            return job;
        var deadline = time.GetUtcNow() + wait;
        using var watch = hub.Subscribe(job.Id);
        long seen = 0;
        while (deadline - time.GetUtcNow() is var left && left > TimeSpan.Zero)
        {
            if (await watch.WaitAsync(seen, left, cancellationToken) is not { } snapshot)
                break; // the wait ran out
            seen = snapshot.Version;
            if (snapshot.Job is null || snapshot.Job.Status.IsTerminal())
                return snapshot.Job;
            job = snapshot.Job;
        }
        return job;
    }

    /// <summary>
    /// Reads the sweep with <paramref name="read"/> until <paramref name="hasEnded"/> says so or the wait
    /// runs out. Between reads it sleeps until one of the sweep's unfinished jobs changes, or at most
    /// <paramref name="recheck"/> (new jobs appear at the scheduler's pace, not on a job's change).
    /// </summary>
    public static async Task<T> UntilSweepEndsAsync<T>(
        Func<CancellationToken, Task<T>> read, Func<T, bool> hasEnded, Func<T, Guid?> anUnfinishedJob,
        JobWatchHub hub, TimeSpan wait, TimeSpan recheck, TimeProvider time, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + wait;
        var current = await read(cancellationToken);
        while (!hasEnded(current) && deadline - time.GetUtcNow() is var left && left > TimeSpan.Zero)
        {
            var nap = left < recheck ? left : recheck;
            var napEnds = time.GetUtcNow() + nap;
            if (anUnfinishedJob(current) is { } jobId)
            {
                using var watch = hub.Subscribe(jobId);
                // The first snapshot is the job as it is now; the next one is a change.
                if (await watch.WaitAsync(0, nap, cancellationToken) is { } first && napEnds - time.GetUtcNow() is var rest && rest > TimeSpan.Zero)
                    await watch.WaitAsync(first.Version, rest, cancellationToken);
            }
            else
            {
                await Task.Delay(nap, time, cancellationToken);
            }
            current = await read(cancellationToken);
        }
        return current;
    }
}
