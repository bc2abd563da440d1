using System.Globalization;

namespace TrainingService.Faults.Tests.Soak;

/// <summary>The kinds of fault the soak injects.</summary>
internal enum FaultKind
{
    /// <summary>SIGKILL a worker (as the OOM killer or a lost machine would), then start it again.</summary>
    WorkerKill,
    /// <summary>SIGTERM a worker (a deployment's rolling restart): it hands its job back and exits; then start it again.</summary>
    WorkerStop,
    /// <summary>SIGSTOP a worker past the stale threshold (a long GC pause, a partition), then SIGCONT: its lease is gone.</summary>
    WorkerFreeze,
    /// <summary>SIGKILL the API (and with it the reaper and the outbox), then start it again.</summary>
    ApiKill,
    /// <summary>Stop PostgreSQL (every connection cut) for a while, then start it again.</summary>
    DatabaseOutage,
    /// <summary>Fill the checkpoint volume until ENOSPC for a while, then free it.</summary>
    VolumeFull,
}

/// <summary>One fault of the schedule: after a gap, what, on which worker (where it applies), held for how long.</summary>
internal sealed record Fault(FaultKind Kind, TimeSpan After, int Worker, TimeSpan Hold)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"+{After.TotalSeconds:F0}s {Kind}{(Kind is FaultKind.WorkerKill or FaultKind.WorkerStop or FaultKind.WorkerFreeze ? $" worker-{Worker}" : "")} hold {Hold.TotalSeconds:F0}s");
}

/// <summary>A training configuration; the soak's jobs repeat a few, so each has an undisturbed run to compare with.</summary>
internal sealed record JobConfig(int Seed, int Epochs, int TrainSubset);

/// <summary>
/// How big a soak is and its fault schedule, drawn from a seed so that a failing run can be
/// repeated: <c>TRAININGSERVICE_SOAK=long</c> for the long form (else the short one CI runs),
/// <c>TRAININGSERVICE_SOAK_SEED</c> for another schedule.
/// </summary>
internal sealed record SoakPlan(string Form, int Seed, int TrainJobs, int EvalJobs, IReadOnlyList<JobConfig> Configs, IReadOnlyList<Fault> Faults, TimeSpan Timeout)
{
    public const int Workers = 3;

    /// <summary>A frozen worker stays frozen this much longer than the stale threshold, so its lease is really lost.</summary>
    private static readonly TimeSpan PastStale = TimeSpan.FromSeconds(4);

    public static SoakPlan FromEnvironment()
    {
        var form = Environment.GetEnvironmentVariable("TRAININGSERVICE_SOAK") is "long" ? "long" : "short";
        var seed = int.TryParse(Environment.GetEnvironmentVariable("TRAININGSERVICE_SOAK_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : 15;
        var random = new Random(seed);
        if (form == "short")
        {
            // Every kind once, and a second SIGKILL, in an order of the seed's: about a minute and a
            // half of faults over 20 tiny jobs (12 trainings of 10 steps an epoch, 8 evals), to fit
            // CI's five minutes on two cores.
            var kinds = Enum.GetValues<FaultKind>().Append(FaultKind.WorkerKill).OrderBy(_ => random.Next()).ToList();
            return new SoakPlan(form, seed, TrainJobs: 12, EvalJobs: 8,
                [new JobConfig(1, 2, 1000), new JobConfig(2, 1, 1000)],
                [.. kinds.Select(kind => Draw(kind, random, minGap: 2, maxGap: 6))], TimeSpan.FromMinutes(8));
        }
        // The long form: more than twice the jobs, with more and longer epochs, under 24 faults
        // (each kind three times, the rest drawn at random), spread further apart.
        var all = Enum.GetValues<FaultKind>();
        var longKinds = all.SelectMany(k => Enumerable.Repeat(k, 3)).Concat(Enumerable.Range(0, 24 - 3 * all.Length).Select(_ => all[random.Next(all.Length)]))
            .OrderBy(_ => random.Next()).ToList();
        return new SoakPlan(form, seed, TrainJobs: 30, EvalJobs: 15,
            [new JobConfig(1, 2, 3000), new JobConfig(2, 3, 2000), new JobConfig(3, 2, 2000), new JobConfig(4, 1, 3000)],
            [.. longKinds.Select(kind => Draw(kind, random, minGap: 5, maxGap: 25))], TimeSpan.FromMinutes(45));
    }

    private static Fault Draw(FaultKind kind, Random random, int minGap, int maxGap)
    {
        var hold = kind switch
        {
            FaultKind.DatabaseOutage => TimeSpan.FromSeconds(random.Next(10, 31)),
            FaultKind.WorkerFreeze => Infrastructure.FaultRig.StaleAfter + PastStale + TimeSpan.FromSeconds(random.Next(0, 5)),
            FaultKind.VolumeFull => TimeSpan.FromSeconds(random.Next(3, 9)),
            // Before the killed or stopped worker is started again.
            _ => TimeSpan.FromSeconds(random.Next(1, 5)),
        };
        return new Fault(kind, TimeSpan.FromSeconds(random.Next(minGap, maxGap + 1)), random.Next(1, Workers + 1), hold);
    }
}
