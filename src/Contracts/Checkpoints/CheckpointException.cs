namespace TrainingService.Contracts.Checkpoints;

/// <summary>
/// A checkpoint could not be found, read, verified or loaded. The message names the checkpoint
/// (label and file) and what is wrong with it, so it can be shown to whoever asked for the load.
/// </summary>
public sealed class CheckpointException : Exception
{
    public CheckpointException(string message) : base(message)
    {
    }

    public CheckpointException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
