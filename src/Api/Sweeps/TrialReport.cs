using System.Globalization;
using TrainingService.Contracts;

namespace TrainingService.Api.Sweeps;

/// <summary>
/// One point (trial) of a sweep as <c>GET /sweeps/{id}</c> shows it: its job's outcome, its learning
/// curve, the epochs it trained, and the early-stopping rule's judgements of it — with why it was
/// stopped, when it was.
/// </summary>
public static class TrialReport
{
    private const double TargetAccuracy = 0.99;

    /// <summary>Whether the sweep's early-stopping rule stopped this job (a cancel, but neither a person's nor a failure).</summary>
    public static bool IsStoppedBySearch(JobRecord job) =>
        job is { Status: JobStatus.Cancelled, TerminationReason: TerminationReason.StoppedBySearch };

    public static SweepPointResponse Build(
        SweepRecord sweep, int point, JobRecord? job, IReadOnlyList<EpochRecord> epochs, IReadOnlyList<SweepDecision> decisions, DateTimeOffset now)
    {
        var curve = epochs.Select(e => new SweepCurvePoint(e.Metrics.Epoch, e.Metrics.TestAccuracy, e.Metrics.TestLoss)).ToList();
        var stop = job is not null && IsStoppedBySearch(job) ? decisions.FirstOrDefault(d => d.Stop) : null;
        return new SweepPointResponse
        {
            Point = point,
            Values = TrialJobs.PointValues(sweep, point),
            JobId = job?.Id,
            Status = job?.Status,
            FinalTestAccuracy = job?.Result?.FinalTestAccuracy,
            // A stopped trial has no result; its epochs still say how good it got.
            BestTestAccuracy = job?.Result?.BestTestAccuracy ?? (curve.Count > 0 ? curve.Max(c => c.TestAccuracy) : null),
            EpochsTo99 = curve.FirstOrDefault(c => c.TestAccuracy >= TargetAccuracy)?.Epoch,
            WallSeconds = job?.StartedAt is { } started ? ((job.FinishedAt ?? now) - started).TotalSeconds : null,
            TerminationReason = job?.TerminationReason,
            EpochsSpent = job is null ? null : EpochsSpent(job, epochs),
            Curve = curve,
            Rungs = [.. decisions.Select(d => new SweepRungResponse
            {
                Epoch = d.Epoch, Value = d.Value, Cutoff = d.Cutoff, Compared = d.Compared, Decision = d.Stop ? "stop" : "continue", DecidedAt = d.DecidedAt,
            })],
            StoppedAtEpoch = stop?.Epoch,
            StopReason = stop is null || sweep.Search.EarlyStopping is not { } rule ? null : Reason(rule, stop),
        };
    }

    /// <summary>
    /// Completed epochs (those recorded), plus the part of the next one its progress reports — the
    /// epoch a running trial is in, or a stopped one was stopped in. A finished trial counts its epochs.
    /// </summary>
    public static double EpochsSpent(JobRecord job, IReadOnlyList<EpochRecord> epochs)
    {
        var completed = epochs.Count == 0 ? 0 : epochs.Max(e => e.Metrics.Epoch);
        if (job.Status == JobStatus.Succeeded || job.Progress is not { StepsPerEpoch: > 0 } progress || progress.Epoch <= completed)
            return completed;
        return completed + Math.Clamp((double)progress.Step / progress.StepsPerEpoch, 0, 1);
    }

    /// <summary>"asha: testAccuracy 0.9612 at epoch 1 was below 0.9701, the 66.7 % quantile of the 4 values recorded at that rung before it (η = 3)."</summary>
    public static string Reason(EarlyStoppingRule rule, SweepDecision stop)
    {
        var culture = CultureInfo.InvariantCulture;
        var metric = EarlyStoppingReader.NameOf(rule.Metric);
        var worse = rule.HigherIsBetter ? "below" : "above";
        var start = string.Create(culture, $"{(rule.Rule == EarlyStoppingKind.Asha ? "asha" : "median")}: {metric} {stop.Value:G4} at epoch {stop.Epoch} was {worse} {stop.Cutoff:G4}");
        return rule.Rule == EarlyStoppingKind.Asha
            ? string.Create(culture, $"{start}, the {100 * (1 - 1.0 / rule.ReductionFactor):0.#} % quantile of the {stop.Compared} values recorded at that rung before it (η = {rule.ReductionFactor}).")
            : string.Create(culture, $"{start}, the median of the {stop.Compared} other trials' values at that epoch.");
    }
}
