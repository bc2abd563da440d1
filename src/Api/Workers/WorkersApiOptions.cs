namespace TrainingService.Api.Workers;

/// <summary>Bound from the <c>WorkersApi</c> section: <c>WorkersApi__AliveThreshold</c>.</summary>
public sealed class WorkersApiOptions
{
    public const string SectionName = "WorkersApi";

    /// <summary>A worker counts as alive while its last heartbeat is at most this old. Default 30 s.</summary>
    public TimeSpan AliveThreshold { get; set; } = TimeSpan.FromSeconds(30);

    public void Validate()
    {
        if (AliveThreshold <= TimeSpan.Zero)
            throw new InvalidOperationException($"{SectionName}:{nameof(AliveThreshold)} must be positive; it is {AliveThreshold}.");
    }
}
