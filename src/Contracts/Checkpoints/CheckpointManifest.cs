using System.Text.Json.Serialization;
using TrainingService.Contracts.Training;

namespace TrainingService.Contracts.Checkpoints;

/// <summary>
/// What a checkpoint folder holds and how to tell whether its files are intact. Written last, so
/// its presence marks the checkpoint as complete.
/// </summary>
public sealed record CheckpointManifest
{
    /// <summary>The only format this build writes and reads.</summary>
    public const int CurrentFormatVersion = 1;

    public required int FormatVersion { get; init; }
    public required string Architecture { get; init; }
    public required Hyperparameters Hyperparameters { get; init; }
    public required int Epoch { get; init; }
    public EpochMetrics? Metrics { get; init; }

    /// <summary>
    /// For an epoch's own checkpoint: the attempt that trained it and the steps each attempt ran,
    /// so the record re-made from this checkpoint is the one its attempt made. Null in checkpoints
    /// written before attempts were recorded, and in mid-epoch ones (see <see cref="EpochPosition.StepsRun"/>).
    /// </summary>
    public EpochTraining? Training { get; init; }

    /// <summary>For a checkpoint taken part-way through an epoch (a worker stopping): how far it had got. Null at an epoch's end.</summary>
    public EpochPosition? MidEpoch { get; init; }
    public required IReadOnlyList<CheckpointFile> Files { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The checkpoint's folder name, e.g. <c>epoch-0003</c>.</summary>
    [JsonIgnore]
    public string Label => CheckpointFolder.LabelFor(Epoch);
}

/// <summary>One file of a checkpoint: its name inside the folder, its size and its SHA-256 (lowercase hex).</summary>
public sealed record CheckpointFile(string Name, long SizeBytes, string Sha256);


/// <summary>
/// A point between two steps of an epoch: the steps done, and the running sums the epoch's train
/// metrics are made of, so an epoch continued from here reports what it would have uninterrupted.
/// </summary>
public sealed record EpochPosition(int Epoch, int StepsDone, double TrainLossSum, long TrainCorrect, double TrainSeconds)
{
    /// <summary>
    /// The optimizer steps each attempt ran to get here, in order, counted as they ran (null in
    /// checkpoints written before steps were counted). The attempt that resumes here carries them
    /// into the epoch's <see cref="EpochTraining.EarlierAttempts"/>.
    /// </summary>
    public IReadOnlyList<AttemptSteps>? StepsRun { get; init; }
}
