namespace TrainingService.Tests.Shared;

/// <summary>
/// One epoch's record as the tests read it (from the store, or from <c>GET /jobs/{id}/metrics</c>):
/// who trained it, where that attempt resumed, the optimizer steps each attempt ran for it, and how
/// many other writes of it were kept as conflicts. <paramref name="Attempt"/> is null for a record
/// that names no attempt.
/// </summary>
public sealed record EpochLedger(int Epoch, int? Attempt, int ResumedFromStep, int StepsRun, IReadOnlyList<(int Attempt, int Steps)> EarlierAttempts, int Conflicts)
{
    public int TotalSteps => StepsRun + EarlierAttempts.Sum(a => a.Steps);
}

/// <summary>
/// "No epoch trained twice", checked from the records: each epoch recorded once, by an attempt of
/// the job, with no other attempt's write of it kept as a conflict, and with exactly the epoch's
/// optimizer steps — ceil(images / batch size) — summed over the attempts that worked on it, each
/// attempt having started where the one before it stopped. An epoch trained again from its start
/// by a later attempt shows as a conflict; steps run again after a mid-epoch resume show as a sum
/// over the epoch's steps. The fault tests, the soak and the test that forces a double run share it.
/// </summary>
public static class EpochInvariants
{
    /// <summary>What is wrong with a job's epoch records, one line each; empty when nothing is.</summary>
    /// <param name="epochs">The records, as listed (one per epoch number unless something is badly wrong).</param>
    /// <param name="expectedEpochs">The epochs 1..n that must be recorded (those of a finished run, or those its checkpoints hold).</param>
    /// <param name="stepsPerEpoch">ceil(training images / batch size).</param>
    /// <param name="jobAttempt">The job's attempt count: no record may name a later attempt.</param>
    public static IReadOnlyList<string> Violations(IReadOnlyList<EpochLedger> epochs, int expectedEpochs, int stepsPerEpoch, int jobAttempt)
    {
        var violations = new List<string>();
        foreach (var repeated in epochs.GroupBy(e => e.Epoch).Where(g => g.Count() > 1))
            violations.Add($"epoch {repeated.Key} is recorded {repeated.Count()} times");
        foreach (var missing in Enumerable.Range(1, expectedEpochs).Where(n => epochs.All(e => e.Epoch != n)))
            violations.Add($"epoch {missing} is not recorded");
        var lastAttempt = 0;
        foreach (var epoch in epochs.OrderBy(e => e.Epoch))
        {
            var name = $"epoch {epoch.Epoch}";
            if (epoch.Conflicts > 0)
                violations.Add($"{name} was trained again and written by another attempt after it was recorded ({epoch.Conflicts} conflicting write(s) kept)");
            if (epoch.Attempt is not { } attempt)
            {
                violations.Add($"{name} names no attempt");
                continue;
            }
            if (epoch.TotalSteps != stepsPerEpoch)
                violations.Add($"{name} ran {epoch.TotalSteps} optimizer steps over its attempts ({Describe(epoch)}), not {stepsPerEpoch}: steps were run twice or skipped");
            if (attempt < 1 || attempt > jobAttempt)
                violations.Add($"{name} was recorded by attempt {attempt}, but the job has had {jobAttempt}");
            if (attempt < lastAttempt)
                violations.Add($"{name} was recorded by attempt {attempt}, after an earlier epoch by attempt {lastAttempt}");
            lastAttempt = Math.Max(lastAttempt, attempt);
            // The attempts that worked on it, in order, each later than the one before, each taking
            // the epoch up where the last one's mid-epoch checkpoint left it.
            var known = epoch.EarlierAttempts.Where(a => a.Attempt > 0).Select(a => a.Attempt).Append(attempt).ToList();
            if (!known.Zip(known.Skip(1)).All(p => p.First < p.Second))
                violations.Add($"{name}: the attempts that trained it are not in order ({Describe(epoch)})");
            if (epoch.ResumedFromStep != epoch.EarlierAttempts.Sum(a => a.Steps))
                violations.Add($"{name} resumed at step {epoch.ResumedFromStep}, but the attempts before it ran {epoch.EarlierAttempts.Sum(a => a.Steps)} steps ({Describe(epoch)})");
        }
        return violations;
    }

    /// <summary>"attempt 1: 48, attempt 2: 152".</summary>
    public static string Describe(EpochLedger epoch) =>
        string.Join(", ", epoch.EarlierAttempts.Append((epoch.Attempt ?? 0, epoch.StepsRun)).Select(a => $"attempt {a.Item1}: {a.Item2}"));
}
