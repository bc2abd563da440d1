using System.Text.Json;
using TrainingService.Contracts;

namespace TrainingService.Api.Sweeps;

/// <summary>Builds a sweep's response from its record, its jobs and their epochs: point outcomes and the comparison over seeds.</summary>
public static class SweepReport
{
    public const string SeedAxis = "seed";
    private const double TargetAccuracy = 0.99;

    public static async Task<SweepResponse> BuildAsync(
        SweepRecord sweep, ISweepStore sweeps, IEpochStore epochStore, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var jobs = (await sweeps.GetSweepJobsAsync(sweep.Id, cancellationToken)).ToDictionary(j => j.Point, j => j.Job);
        var points = new List<SweepPointResponse>();
        for (var point = 0; point < sweep.Points.Count; point++)
        {
            var job = jobs.GetValueOrDefault(point);
            int? epochsTo99 = null;
            if (job is { Kind: JobKind.Train, StartedAt: not null })
            {
                var epochs = await epochStore.GetEpochsAsync(job.Id, 0, cancellationToken);
                epochsTo99 = epochs.FirstOrDefault(e => e.Metrics.TestAccuracy >= TargetAccuracy)?.Metrics.Epoch;
            }
            points.Add(new SweepPointResponse
            {
                Point = point,
                Values = SweepPlanner.PointValues(sweep, point),
                JobId = job?.Id,
                Status = job?.Status,
                FinalTestAccuracy = job?.Result?.FinalTestAccuracy,
                BestTestAccuracy = job?.Result?.BestTestAccuracy,
                EpochsTo99 = epochsTo99,
                WallSeconds = job?.StartedAt is { } started ? ((job.FinishedAt ?? now) - started).TotalSeconds : null,
            });
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
            JobsTag = SweepPlanner.Tag(sweep.Id),
            Base = sweep.BaseJob,
            Owner = sweep.Owner,
            Grid = sweep.Grid.Select(a => new SweepAxisResponse { Name = a.Name, Values = a.Values }).ToList(),
            Points = points,
            Comparison = Compare(sweep, points),
        };
    }

    /// <summary>
    /// A sweep's status — <c>running</c>, then <c>succeeded</c> (every job did), <c>failed</c> (some did
    /// not) or <c>cancelled</c> — and when it ended, from its record and its jobs so far.
    /// </summary>
    public static (string Status, DateTimeOffset? FinishedAt) StatusOf(SweepRecord sweep, IReadOnlyCollection<JobRecord> jobs)
    {
        var finished = jobs.Count == sweep.Points.Count && jobs.All(j => j.Status.IsTerminal());
        var status = sweep.CancelRequested ? "cancelled"
            : !finished ? "running"
            : jobs.All(j => j.Status == JobStatus.Succeeded) ? "succeeded"
            : "failed";
        DateTimeOffset? finishedAt = sweep.CancelRequested ? sweep.CancelledAt
            : finished ? jobs.Max(j => j.FinishedAt)
            : null;
        return (status, finishedAt);
    }

    /// <summary>Groups points by every axis but seed, in grid order, and summarises each group's succeeded runs.</summary>
    private static List<SweepComparisonRow> Compare(SweepRecord sweep, IReadOnlyList<SweepPointResponse> points)
    {
        var axes = sweep.Grid.Select(a => a.Name).Where(a => a != SeedAxis).ToList();
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
                FinalTestAccuracy = SweepStatistic.Of(succeeded.Where(p => p.FinalTestAccuracy is not null).Select(p => p.FinalTestAccuracy!.Value).ToList()),
                BestTestAccuracy = SweepStatistic.Of(succeeded.Where(p => p.BestTestAccuracy is not null).Select(p => p.BestTestAccuracy!.Value).ToList()),
                EpochsTo99 = SweepStatistic.Of(succeeded.Where(p => p.EpochsTo99 is not null).Select(p => (double)p.EpochsTo99!.Value).ToList()),
                WallSeconds = SweepStatistic.Of(succeeded.Where(p => p.WallSeconds is not null).Select(p => p.WallSeconds!.Value).ToList()),
            };
        }).ToList();
    }
}
