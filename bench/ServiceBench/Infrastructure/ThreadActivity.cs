using System.Globalization;

namespace TrainingService.ServiceBench.Infrastructure;

/// <summary>
/// What a process's threads did between two moments, from <c>/proc/PID/task/*/</c>: CPU time
/// (<c>stat</c>'s utime + stime) and context switches (<c>status</c>: voluntary = the thread blocked
/// and later woke, nonvoluntary = it was preempted). The <c>trainingThreads</c> threads that used
/// the most CPU are the training step's (the training thread and its OpenMP team, which inherit
/// its name); everything else is the service's (or runtime's) other activity, grouped by thread name.
/// </summary>
internal sealed record ThreadActivity(
    double Seconds, double TrainingCpuSeconds, long TrainingPreemptions, double OtherCpuSeconds, long OtherWakeUps,
    IReadOnlyList<ThreadActivity.Group> OtherThreads)
{
    internal sealed record Group(string Name, int Threads, double CpuSeconds, long WakeUps, long Preemptions);

    internal sealed record Sample(int Tid, string Name, long CpuTicks, long Voluntary, long Nonvoluntary);

    /// <summary>The threads' counters now; empty where /proc is not there.</summary>
    public static Dictionary<int, Sample> Snapshot(int pid)
    {
        var samples = new Dictionary<int, Sample>();
        var tasks = $"/proc/{pid}/task";
        if (!Directory.Exists(tasks))
            return samples;
        foreach (var directory in Directory.EnumerateDirectories(tasks))
        {
            try
            {
                var tid = int.Parse(Path.GetFileName(directory), CultureInfo.InvariantCulture);
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                // comm is in parentheses and may hold spaces; the fields after it are space-separated.
                var close = stat.LastIndexOf(')');
                var name = stat[(stat.IndexOf('(') + 1)..close];
                var fields = stat[(close + 2)..].Split(' ');
                var cpu = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                long voluntary = 0, nonvoluntary = 0;
                foreach (var line in File.ReadLines(Path.Combine(directory, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal))
                        voluntary = long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim(), CultureInfo.InvariantCulture);
                    else if (line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                        nonvoluntary = long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim(), CultureInfo.InvariantCulture);
                }
                samples[tid] = new Sample(tid, name, cpu, voluntary, nonvoluntary);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                // A thread that ended while being read.
            }
        }
        return samples;
    }

    public static ThreadActivity Between(Dictionary<int, Sample> before, Dictionary<int, Sample> after, double seconds, int trainingThreads)
    {
        const double TicksPerSecond = 100; // USER_HZ on Linux
        var deltas = after.Values.Select(a => before.TryGetValue(a.Tid, out var s)
            ? a with { CpuTicks = a.CpuTicks - s.CpuTicks, Voluntary = a.Voluntary - s.Voluntary, Nonvoluntary = a.Nonvoluntary - s.Nonvoluntary }
            : a).ToList();
        var training = deltas.OrderByDescending(d => d.CpuTicks).Take(trainingThreads).ToList();
        var others = deltas.Except(training).ToList();
        var groups = others.GroupBy(d => d.Name)
            .Select(g => new Group(g.Key, g.Count(), g.Sum(d => d.CpuTicks) / TicksPerSecond, g.Sum(d => d.Voluntary), g.Sum(d => d.Nonvoluntary)))
            .Where(g => g.WakeUps > 0 || g.CpuSeconds > 0)
            .OrderByDescending(g => g.WakeUps).ToList();
        return new ThreadActivity(seconds, training.Sum(d => d.CpuTicks) / TicksPerSecond, training.Sum(d => d.Nonvoluntary),
            others.Sum(d => d.CpuTicks) / TicksPerSecond, others.Sum(d => d.Voluntary), groups);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"training threads {TrainingCpuSeconds:F1} s CPU, preempted {TrainingPreemptions / Seconds:F1}/s; other threads {OtherCpuSeconds:F2} s CPU, " +
        $"{OtherWakeUps / Seconds:F1} wake-ups/s ({string.Join(", ", OtherThreads.Take(5).Select(g => $"{g.Name} ×{g.Threads}: {g.WakeUps / Seconds:F1}/s"))})");

    public Dictionary<string, object?> ToJson() => new()
    {
        ["seconds"] = Math.Round(Seconds, 2),
        ["trainingCpuSeconds"] = Math.Round(TrainingCpuSeconds, 2),
        ["trainingPreemptionsPerSecond"] = Math.Round(TrainingPreemptions / Seconds, 2),
        ["otherCpuSeconds"] = Math.Round(OtherCpuSeconds, 2),
        ["otherWakeUpsPerSecond"] = Math.Round(OtherWakeUps / Seconds, 2),
        ["otherThreads"] = OtherThreads.Select(g => new Dictionary<string, object?>
        {
            ["name"] = g.Name,
            ["threads"] = g.Threads,
            ["cpuSeconds"] = Math.Round(g.CpuSeconds, 2),
            ["wakeUpsPerSecond"] = Math.Round(g.WakeUps / Seconds, 2),
        }).ToArray(),
    };
}
