namespace TrainingService.Contracts;

/// <summary>The checkpoint volume. Bound from the <c>Checkpoints</c> section: <c>Checkpoints__Root</c>.</summary>
public sealed class CheckpointOptions
{
    public const string SectionName = "Checkpoints";

    public string Root { get; set; } = "./data/checkpoints";

    /// <summary>A job's checkpoint folder: built from its id alone, never from anything a client typed.</summary>
    public string JobDirectory(Guid jobId) => Path.Combine(Path.GetFullPath(Root), jobId.ToString("N"));
}
