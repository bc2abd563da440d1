using TrainingService.Contracts;

namespace TrainingService.Api.Sweeps;

/// <summary>
/// Builds a sweep's response from its record, its jobs, their epochs and the early-stopping rule's
/// decisions: each trial (<see cref="TrialReport"/>), the comparison over seeds, the best trial with its
/// settings, and the epochs the search has spent.
/// </summary>
public static class SweepReport
{
    public const string SeedAxis = "seed";

    public static async Task<SweepResponse> BuildAsync(
        SweepRecord sweep, ISweepStore sweeps, IEpochStore epochStore, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var jobs = (await sweeps.GetSweepJobsAsync(sweep.Id, cancellationToken)).ToDictionary(j => j.Point, j => j.Job);
        var decisions = sweep.Search.EarlyStopping is null ? [] : await sweeps.GetDecisionsAsync(sweep.Id, cancellationToken);
        var points = new List<SweepPointResponse>();
        for (var point = 0; point < sweep.Points.Count; point++)
        {
            var job = jobs.GetValueOrDefault(point);
            var epochs = job is { Kind: JobKind.Train, StartedAt: not null } ? await epochStore.GetEpochsAsync(job.Id, 0, cancellationToken) : [];
            points.Add(TrialReport.Build(sweep, point, job, epochs, [.. decisions.Where(d => d.Point == point)], now));
        }

        var (status, finishedAt) = StatusOf(sweep, jobs.Values);

        return new SweepResponse
        {
            Id = sweep.Id,
            Name = sweep.Name,
            Status = status,
            MaxConcurrent = sweep.MaxConcurrent,
            CreatedAt = sweep.CreatedAt,
            FinishedAt = finishedAt,
            JobsTag = TrialJobs.Tag(sweep.Id),
            Base = sweep.BaseJob,
            Owner = sweep.Owner,
            Method = sweep.Search.Method,
            Space = [.. sweep.Search.Space.Select(d => new SearchDimensionResponse { Name = d.Name, Distribution = d.Distribution, Values = d.Values })],
            Seed = sweep.Search.Seed,
            EarlyStopping = EarlyStoppingResponse.Of(sweep.Search.EarlyStopping),
            EpochsSpent = points.Sum(p => p.EpochsSpent ?? 0),
            Best = Best(points, jobs),
            Grid = sweep.Grid.Select(a => new SweepAxisResponse { Name = a.Name, Values = a.Values }).ToList(),
            Points = points,
            Comparison = Compare(sweep, points),
        };
    }

    /// <summary>
    /// A sweep's status — <c>running</c>, then <c>succeeded</c> (every job succeeded or was stopped by the
    /// search), <c>failed</c> (some did not) or <c>cancelled</c> — and when it ended, from its record and its jobs so far.
    /// </summary>
    public static (string Status, DateTimeOffset? FinishedAt) StatusOf(SweepRecord sweep, IReadOnlyCollection<JobRecord> jobs)
    {
        var finished = jobs.Count == sweep.Points.Count && jobs.All(j => j.Status.IsTerminal());
        var status = sweep.CancelRequested ? "cancelled"
            : !finished ? "running"
            : jobs.All(j => j.Status == JobStatus.Succeeded || TrialReport.IsStoppedBySearch(j)) ? "succeeded"
            : "failed";
        DateTimeOffset? finishedAt = sweep.CancelRequested ? sweep.CancelledAt
            : finished ? jobs.Max(j => j.FinishedAt)
            : null;
        return (status, finishedAt);
    }

    /// <summary>The trial with the highest test accuracy at any of its epochs (the earlier point on a tie).</summary>
    private static SweepBestResponse? Best(IReadOnlyList<SweepPointResponse> points, IReadOnlyDictionary<int, JobRecord> jobs)
    {
        var best = points.Where(p => p.Curve.Count > 0).OrderByDescending(p => p.Curve.Max(c => c.TestAccuracy)).ThenBy(p => p.Point).FirstOrDefault();
        if (best is null)
            return null;
        var job = jobs[best.Point];
        var top = best.Curve.OrderByDescending(c => c.TestAccuracy).ThenBy(c => c.Epoch).First();
        return new SweepBestResponse
        {
            Point = best.Point,
            JobId = job.Id,
            Status = job.Status,
            Values = best.Values,
            Architecture = job.Architecture,
            Hyperparameters = job.Hyperparameters,
            BestTestAccuracy = top.TestAccuracy,
            BestEpoch = top.Epoch,
            FinalTestAccuracy = best.Curve.MaxBy(c => c.Epoch)!.TestAccuracy,
        };
    }

    /// <summary>Groups points by every axis but seed, in order, and summarises each group's succeeded runs.</summary>
    private static List<SweepComparisonRow> Compare(SweepRecord sweep, IReadOnlyList<SweepPointResponse> points)
    {
        var axes = sweep.Axes.Where(a => a != SeedAxis).ToList();
        string Key(SweepPointResponse p) => string.Join("\u001f", axes.Select(a => p.Values[a].GetRawText()));
        return points.GroupBy(Key).Select(group =>
        {
            var runs = group.ToList();
            var succeeded = runs.Where(p => p.Status == JobStatus.Succeeded).ToList();
            return new SweepComparisonRow
            {
                Values = axes.ToDictionary(a => a, a => runs[0].Values[a]),
                Runs = runs.Count,
                Succeeded = succeeded.Count,
                Stopped = runs.Count(p => p.TerminationReason == TerminationReason.StoppedBySearch && p.Status == JobStatus.Cancelled),
                FinalTestAccuracy = SweepStatistic.Of(succeeded.Where(p => p.FinalTestAccuracy is not null).Select(p => p.FinalTestAccuracy!.Value).ToList()),
                BestTestAccuracy = SweepStatistic.Of(succeeded.Where(p => p.BestTestAccuracy is not null).Select(p => p.BestTestAccuracy!.Value).ToList()),
                EpochsTo99 = SweepStatistic.Of(succeeded.Where(p => p.EpochsTo99 is not null).Select(p => (double)p.EpochsTo99!.Value).ToList()),
                WallSeconds = SweepStatistic.Of(succeeded.Where(p => p.WallSeconds is not null).Select(p => p.WallSeconds!.Value).ToList()),
            };
        }).ToList();
    }
}
