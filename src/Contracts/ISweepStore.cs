namespace TrainingService.Contracts;

/// <summary>The sweeps and which job runs each of their points.</summary>
public interface ISweepStore
{
    /// <summary>Stores a new sweep (no jobs yet: the sweep scheduler creates them, point by point).</summary>
    Task CreateSweepAsync(SweepRecord sweep, CancellationToken cancellationToken);

    Task<SweepRecord?> GetSweepAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>Newest first (CreatedAt, then Id, descending), filtered by owner when the query says so.</summary>
    Task<IReadOnlyList<SweepRecord>> ListSweepsAsync(SweepQuery query, CancellationToken cancellationToken);

    /// <summary>Sweeps not cancelled that still have points without a job.</summary>
    Task<IReadOnlyList<SweepRecord>> ListOpenSweepsAsync(CancellationToken cancellationToken);

    /// <summary>Links <paramref name="jobId"/> to a point of a sweep; false when that point has a job already.</summary>
    Task<bool> AddSweepJobAsync(Guid sweepId, int point, Guid jobId, CancellationToken cancellationToken);

    /// <summary>The sweep's jobs so far, by point.</summary>
    Task<IReadOnlyList<SweepJob>> GetSweepJobsAsync(Guid sweepId, CancellationToken cancellationToken);

    /// <summary>Marks the sweep cancelled (no more jobs are created); false when it does not exist or was cancelled already.</summary>
    Task<bool> RequestSweepCancelAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken);
}
