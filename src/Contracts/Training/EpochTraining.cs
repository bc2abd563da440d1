namespace TrainingService.Contracts.Training;

/// <summary>
/// Who trained an epoch, and how much: the attempt that finished it (and wrote its checkpoint and
/// record), the step it resumed at (0 when it trained the epoch from its start), the optimizer
/// steps it ran, and those the earlier attempts ran before the mid-epoch checkpoint it resumed
/// from. Steps are counted where the optimizer steps, never derived from positions, so an epoch
/// trained twice — from its start again, or steps run again after a mid-epoch resume — shows up
/// as <see cref="TotalSteps"/> other than the epoch's ceil(images / batch size).
/// </summary>
/// <param name="Attempt">The attempt that finished the epoch.</param>
/// <param name="ResumedFromStep">The steps already done when it took the epoch up (0: it trained the epoch from its start).</param>
/// <param name="StepsRun">The optimizer steps it ran for the epoch.</param>
/// <param name="EarlierAttempts">The steps of the attempts before it, in order; empty when the epoch was trained by one attempt.</param>
public sealed record EpochTraining(int Attempt, int ResumedFromStep, int StepsRun, IReadOnlyList<AttemptSteps> EarlierAttempts)
{
    /// <summary>The optimizer steps every attempt that worked on the epoch ran for it, together.</summary>
    public int TotalSteps() => StepsRun + EarlierAttempts.Sum(a => a.Steps);

    // By value, the earlier attempts included: the store tells a retried write (the same) from
    // another attempt's write of the same epoch (a conflict) with this.
    public bool Equals(EpochTraining? other) =>
        other is not null && Attempt == other.Attempt && ResumedFromStep == other.ResumedFromStep && StepsRun == other.StepsRun
        && EarlierAttempts.SequenceEqual(other.EarlierAttempts);

    public override int GetHashCode() => HashCode.Combine(Attempt, ResumedFromStep, StepsRun, EarlierAttempts.Count);
}

/// <summary>
/// The optimizer steps one attempt ran in an epoch before it stopped at a mid-epoch checkpoint.
/// Attempt 0 stands for a checkpoint written before steps were counted (its position's steps).
/// </summary>
public sealed record AttemptSteps(int Attempt, int Steps);
