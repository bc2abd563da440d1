using System.Text.Json;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Contracts;

namespace TrainingService.Api.Sweeps;

/// <summary>A sweep: its definition, each point's job and outcome, and the comparison table.</summary>
public sealed record SweepResponse : IOpenApiExample<SweepResponse>
{
    public required Guid Id { get; init; }

    public required string? Name { get; init; }

    /// <summary><c>running</c> while points wait or jobs run; then <c>succeeded</c> (every job did), <c>failed</c> (some did not) or <c>cancelled</c>.</summary>
    public required string Status { get; init; }

    /// <summary>At most this many of its jobs are queued or running at once.</summary>
    public required int MaxConcurrent { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the last job ended, or the sweep was cancelled; null while it runs.</summary>
    public required DateTimeOffset? FinishedAt { get; init; }

    /// <summary>Every job of the sweep carries this tag: <c>GET /jobs?tag=…</c> lists them.</summary>
    public required string JobsTag { get; init; }

    /// <summary>The base job, as given.</summary>
    public required JsonElement Base { get; init; }

    /// <summary><c>grid</c> or <c>random</c>.</summary>
    public required SweepMethod Method { get; init; }

    /// <summary>A random sweep's space (empty for a grid).</summary>
    public required IReadOnlyList<SearchDimensionResponse> Space { get; init; }

    /// <summary>The seed a random sweep's trials were drawn with (null for a grid): the same space, trials and seed draw the same trials.</summary>
    public required int? Seed { get; init; }

    /// <summary>The early-stopping rule; null when every trial runs to its end.</summary>
    public required EarlyStoppingResponse? EarlyStopping { get; init; }

    /// <summary>
    /// Epochs trained by all the sweep's trials so far: each trial's completed epochs plus the part of
    /// the epoch it is in (or was stopped in). The search's cost, comparable across machines.
    /// </summary>
    public required double EpochsSpent { get; init; }

    /// <summary>The trial with the highest test accuracy at any epoch so far, with all its settings; null before any epoch ends.</summary>
    public required SweepBestResponse? Best { get; init; }

    /// <summary>The name of the API key that created it (its jobs carry it too); null when it was created with authentication off.</summary>
    public required string? Owner { get; init; }

    /// <summary>A grid sweep's axes (empty for a random sweep).</summary>
    public required IReadOnlyList<SweepAxisResponse> Grid { get; init; }

    /// <summary>Every point (trial) in order — a grid's, the last axis varying fastest, or a random sweep's draws — with its job once created.</summary>
    public required IReadOnlyList<SweepPointResponse> Points { get; init; }

    /// <summary>One row per combination of the axes other than <c>seed</c>: runs over seeds summarised as mean ± standard deviation.</summary>
    public required IReadOnlyList<SweepComparisonRow> Comparison { get; init; }

    public static SweepResponse Example { get; } = new()
    {
        Id = Guid.Parse("0197a1f2-7d4e-7a1b-8c2d-3e4f5a6b7c8d"),
        Name = "convnet: batch size × seed",
        Status = "running",
        MaxConcurrent = 2,
        CreatedAt = new DateTimeOffset(2026, 11, 26, 9, 0, 0, TimeSpan.Zero),
        FinishedAt = null,
        JobsTag = "sweep-0197a1f2-7d4e-7a1b-8c2d-3e4f5a6b7c8d",
        Base = JsonSerializer.SerializeToElement(new { kind = "train", architecture = "convnet", hyperparameters = new { epochs = 3 } }),
        Owner = "alice",
        Method = SweepMethod.Grid,
        Space = [],
        Seed = null,
        EarlyStopping = null,
        EpochsSpent = 4.5,
        Best = SweepBestResponse.Example,
        Grid = [SweepAxisResponse.Example],
        Points = [SweepPointResponse.Example],
        Comparison = [SweepComparisonRow.Example],
    };
}

/// <summary>One axis of the grid and its values, in order.</summary>
public sealed record SweepAxisResponse : IOpenApiExample<SweepAxisResponse>
{
    public required string Name { get; init; }

    public required IReadOnlyList<JsonElement> Values { get; init; }

    public static SweepAxisResponse Example { get; } = new()
    {
        Name = "batchSize",
        Values = [JsonSerializer.SerializeToElement(32), JsonSerializer.SerializeToElement(256)],
    };
}

/// <summary>A point of the grid and its job's outcome so far.</summary>
public sealed record SweepPointResponse : IOpenApiExample<SweepPointResponse>
{
    /// <summary>The point's index in grid order, from 0.</summary>
    public required int Point { get; init; }

    /// <summary>Axis → value.</summary>
    public required IReadOnlyDictionary<string, JsonElement> Values { get; init; }

    /// <summary>Null until the point's turn comes (see <c>maxConcurrent</c>).</summary>
    public required Guid? JobId { get; init; }

    public required JobStatus? Status { get; init; }

    public required double? FinalTestAccuracy { get; init; }

    public required double? BestTestAccuracy { get; init; }

    /// <summary>The first epoch whose test accuracy reached 99 %; null if none did (yet).</summary>
    public required int? EpochsTo99 { get; init; }

    /// <summary>From the job's start to its end (or to now while it runs); null before it starts.</summary>
    public required double? WallSeconds { get; init; }

    /// <summary>Why its job ended (<c>stopped-by-search</c> for a trial the early-stopping rule stopped); null while it runs.</summary>
    public required TerminationReason? TerminationReason { get; init; }

    /// <summary>Epochs trained: completed epochs plus the part of the one it is in, or was stopped in.</summary>
    public required double? EpochsSpent { get; init; }

    /// <summary>Test accuracy and loss at each epoch it completed.</summary>
    public required IReadOnlyList<SweepCurvePoint> Curve { get; init; }

    /// <summary>Each judgement of the early-stopping rule on this trial, by epoch (empty without a rule).</summary>
    public required IReadOnlyList<SweepRungResponse> Rungs { get; init; }

    /// <summary>The epoch at which the early-stopping rule stopped it; null unless it was stopped by the search.</summary>
    public required int? StoppedAtEpoch { get; init; }

    /// <summary>Why the search stopped it, in words; null unless it was stopped by the search.</summary>
    public required string? StopReason { get; init; }

    public static SweepPointResponse Example { get; } = new()
    {
        Point = 0,
        Values = new Dictionary<string, JsonElement> { ["batchSize"] = JsonSerializer.SerializeToElement(32), ["seed"] = JsonSerializer.SerializeToElement(1) },
        JobId = Guid.Parse("0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e"),
        Status = JobStatus.Succeeded,
        FinalTestAccuracy = 0.9912,
        BestTestAccuracy = 0.9915,
        EpochsTo99 = 2,
        WallSeconds = 94.2,
        TerminationReason = Contracts.TerminationReason.Succeeded,
        EpochsSpent = 2,
        Curve = [SweepCurvePoint.Example],
        Rungs = [],
        StoppedAtEpoch = null,
        StopReason = null,
    };
}

/// <summary>The runs of one combination of non-seed axes, summarised.</summary>
public sealed record SweepComparisonRow : IOpenApiExample<SweepComparisonRow>
{
    /// <summary>Axis → value, every axis but <c>seed</c>.</summary>
    public required IReadOnlyDictionary<string, JsonElement> Values { get; init; }

    /// <summary>Points (seeds) in this row.</summary>
    public required int Runs { get; init; }

    /// <summary>Of those, the jobs that succeeded: the statistics are over these.</summary>
    public required int Succeeded { get; init; }

    /// <summary>Of those, the trials the early-stopping rule stopped.</summary>
    public required int Stopped { get; init; }

    public required SweepStatistic? FinalTestAccuracy { get; init; }

    public required SweepStatistic? BestTestAccuracy { get; init; }

    /// <summary>Over the runs that reached 99 % test accuracy (<c>count</c> says how many did).</summary>
    public required SweepStatistic? EpochsTo99 { get; init; }

    public required SweepStatistic? WallSeconds { get; init; }

    public static SweepComparisonRow Example { get; } = new()
    {
        Values = new Dictionary<string, JsonElement> { ["batchSize"] = JsonSerializer.SerializeToElement(32) },
        Runs = 3,
        Succeeded = 3,
        Stopped = 0,
        FinalTestAccuracy = new SweepStatistic { Mean = 0.9908, Std = 0.0006, Count = 3 },
        BestTestAccuracy = new SweepStatistic { Mean = 0.9912, Std = 0.0004, Count = 3 },
        EpochsTo99 = new SweepStatistic { Mean = 2.3, Std = 0.58, Count = 3 },
        WallSeconds = new SweepStatistic { Mean = 95.1, Std = 2.4, Count = 3 },
    };
}

/// <summary>Mean ± sample standard deviation (null for a single value) over <c>count</c> values.</summary>
public sealed record SweepStatistic : IOpenApiExample<SweepStatistic>
{
    public required double Mean { get; init; }

    public required double? Std { get; init; }

    public required int Count { get; init; }

    public static SweepStatistic Example { get; } = new() { Mean = 0.9908, Std = 0.0006, Count = 3 };

    public static SweepStatistic? Of(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0)
            return null;
        var mean = values.Average();
        double? std = values.Count < 2 ? null : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
        return new SweepStatistic { Mean = mean, Std = std, Count = values.Count };
    }
}

/// <summary>A page of sweeps, newest first.</summary>
public sealed record SweepListResponse : IOpenApiExample<SweepListResponse>
{
    public required IReadOnlyList<SweepSummaryResponse> Items { get; init; }

    public static SweepListResponse Example { get; } = new() { Items = [SweepSummaryResponse.Example] };
}

/// <summary>A sweep in a list: GET /sweeps/{id} has the rest.</summary>
public sealed record SweepSummaryResponse : IOpenApiExample<SweepSummaryResponse>
{
    public required Guid Id { get; init; }

    public required string? Name { get; init; }

    public required bool CancelRequested { get; init; }

    public required int PointCount { get; init; }

    public required IReadOnlyList<string> Axes { get; init; }

    /// <summary><c>grid</c> or <c>random</c>.</summary>
    public required SweepMethod Method { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The name of the API key that created it; null when it was created with authentication off.</summary>
    public required string? Owner { get; init; }

    public static SweepSummaryResponse Example { get; } = new()
    {
        Id = Guid.Parse("0197a1f2-7d4e-7a1b-8c2d-3e4f5a6b7c8d"),
        Name = "convnet: batch size × seed",
        CancelRequested = false,
        PointCount = 4,
        Axes = ["batchSize", "seed"],
        Method = SweepMethod.Grid,
        CreatedAt = new DateTimeOffset(2026, 11, 26, 9, 0, 0, TimeSpan.Zero),
        Owner = "alice",
    };
}
