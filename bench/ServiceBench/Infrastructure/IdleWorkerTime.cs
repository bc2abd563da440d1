using TrainingService.ServiceBench.Scenarios;

namespace TrainingService.ServiceBench.Infrastructure;

/// <summary>
/// Worker-time left idle while jobs waited, from the jobs' own times: at each moment, the number of
/// free worker slots that a waiting job could have used, min(free slots, jobs waiting), summed over
/// time. Zero means no worker ever sat idle while a job was queued; what remains is the queue's
/// hand-over time (the gap between one job's end, or a submission, and the next start).
/// </summary>
internal static class IdleWorkerTime
{
    public static TimeSpan WhileJobsWaited(IReadOnlyList<ScaleScenario.JobTimes> jobs, int slots)
    {
        // +1/-1 events for "waiting" (created → started) and "busy" (started → finished).
        var events = new List<(DateTimeOffset At, int Waiting, int Busy)>();
        foreach (var job in jobs)
        {
            events.Add((job.CreatedAt, +1, 0));
            events.Add((job.StartedAt, -1, +1));
            events.Add((job.FinishedAt, 0, -1));
        }
        events.Sort((a, b) => a.At.CompareTo(b.At));
        int waiting = 0, busy = 0;
        var idle = TimeSpan.Zero;
        for (var i = 0; i < events.Count; i++)
        {
            waiting += events[i].Waiting;
            busy += events[i].Busy;
            if (i + 1 < events.Count)
                idle += (events[i + 1].At - events[i].At) * Math.Min(Math.Max(0, slots - busy), waiting);
        }
        return idle;
    }
}
