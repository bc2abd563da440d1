using System.Text.Json;

namespace TrainingService.Contracts;

/// <summary>One axis of a sweep's grid: a hyperparameter (or <c>architecture</c>) and the values it takes, in order.</summary>
public sealed record SweepAxis(string Name, IReadOnlyList<JsonElement> Values);

/// <summary>
/// A sweep as stored: a base training job and its points (trials) — a grid's every combination, or
/// a random sweep's draws — each of which becomes one job, at most <see cref="MaxConcurrent"/> of
/// them queued or running at a time. Its jobs are linked by point (<see cref="SweepJob"/>); its state
/// is derived from theirs.
/// </summary>
public sealed record SweepRecord
{
    public required Guid Id { get; init; }

    public string? Name { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The job every point starts from, as the <c>POST /jobs</c> body it was given in.</summary>
    public required JsonElement BaseJob { get; init; }

    /// <summary>A grid sweep's axes; empty for a random sweep (see <see cref="Search"/>).</summary>
    public required IReadOnlyList<SweepAxis> Grid { get; init; }

    /// <summary>
    /// The points (trials) in order, axis name → value: a grid's combinations (the last axis varies
    /// fastest), or a random sweep's draws.
    /// </summary>
    public required IReadOnlyList<IReadOnlyDictionary<string, JsonElement>> Points { get; init; }

    public required int MaxConcurrent { get; init; }

    /// <summary>The method, a random sweep's space and seed, and the early-stopping rule.</summary>
    public SweepSearch Search { get; init; } = new();

    /// <summary>The names of the axes a point sets, in order: the grid's, or the random space's.</summary>
    public IReadOnlyList<string> Axes =>
        Search.Method == SweepMethod.Random ? [.. Search.Space.Select(d => d.Name)] : [.. Grid.Select(a => a.Name)];

    public required DateTimeOffset CreatedAt { get; init; }

    public bool CancelRequested { get; init; }

    public DateTimeOffset? CancelledAt { get; init; }

    /// <summary>
    /// The name of the API key that created it, which its jobs carry too; null when authentication was
    /// off (such sweeps are visible to everyone while it stays off, and to admins only once it is on).
    /// </summary>
    public string? Owner { get; init; }
}

/// <summary>
/// A page of <see cref="ISweepStore.ListSweepsAsync"/>: newest first, at most <see cref="Limit"/>;
/// <see cref="Owner"/>, when set, keeps only that owner's sweeps.
/// </summary>
public sealed record SweepQuery(int Limit = 50, string? Owner = null);

/// <summary>The job that runs point <see cref="Point"/> (0-based) of a sweep.</summary>
public sealed record SweepJob(int Point, JobRecord Job);
