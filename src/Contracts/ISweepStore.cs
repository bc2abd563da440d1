namespace TrainingService.Contracts;

/// <summary>The sweeps and which job runs each of their points.</summary>
public interface ISweepStore
{
    /// <summary>Stores a new sweep (no jobs yet: the sweep scheduler creates them, point by point).</summary>
    Task CreateSweepAsync(SweepRecord sweep, CancellationToken cancellationToken);

    Task<SweepRecord?> GetSweepAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>Newest first (CreatedAt, then Id, descending), filtered by owner when the query says so.</summary>
    Task<IReadOnlyList<SweepRecord>> ListSweepsAsync(SweepQuery query, CancellationToken cancellationToken);

    /// <summary>Sweeps not cancelled that still have points without a job, or jobs not ended (for early stopping to judge).</summary>
    Task<IReadOnlyList<SweepRecord>> ListOpenSweepsAsync(CancellationToken cancellationToken);

    /// <summary>Links <paramref name="jobId"/> to a point of a sweep; false when that point has a job already.</summary>
    Task<bool> AddSweepJobAsync(Guid sweepId, int point, Guid jobId, CancellationToken cancellationToken);

    /// <summary>
    /// Allocates trial <paramref name="point"/> of a sweep: stores <paramref name="job"/> and links it to
    /// the trial in one transaction, or, when the trial has a job already (another API process allocated
    /// it first), stores nothing and returns that job with <c>Created = false</c>. The link's key,
    /// (sweep, point), is unique, so however many processes race, a trial gets one job and a sweep no
    /// more jobs than it has points.
    /// </summary>
    Task<(JobRecord Job, bool Created)> AllocateTrialAsync(Guid sweepId, int point, JobRecord job, CancellationToken cancellationToken);

    /// <summary>Stores an early-stopping decision unless one exists for its (sweep, trial, epoch); true when this one was stored.</summary>
    Task<bool> TryRecordDecisionAsync(Guid sweepId, SweepDecision decision, CancellationToken cancellationToken);

    /// <summary>The sweep's early-stopping decisions, by trial then epoch.</summary>
    Task<IReadOnlyList<SweepDecision>> GetDecisionsAsync(Guid sweepId, CancellationToken cancellationToken);

    /// <summary>The sweep's jobs so far, by point.</summary>
    Task<IReadOnlyList<SweepJob>> GetSweepJobsAsync(Guid sweepId, CancellationToken cancellationToken);

    /// <summary>Marks the sweep cancelled (no more jobs are created); false when it does not exist or was cancelled already.</summary>
    Task<bool> RequestSweepCancelAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken);
}
