namespace TrainingService.Models.Training;

/// <summary>
/// Why a run could not go on. Every kind here is deterministic — running the same job again
/// fails the same way — so a queue must not retry it; infrastructure faults surface as other
/// exceptions.
/// </summary>
public enum TrainingFailureKind
{
    /// <summary>The request itself is wrong (hyperparameters, architecture, checkpoint reference).</summary>
    InvalidInput,
    /// <summary>The loss became NaN or infinite: the run diverged.</summary>
    NonFiniteLoss,
    /// <summary>The requested device does not exist on this machine (e.g. CUDA on a CPU-only worker).</summary>
    DeviceUnavailable,
    /// <summary>The device ran out of memory for this model and batch size.</summary>
    OutOfMemory,
}

public sealed class TrainingException(TrainingFailureKind kind, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public TrainingFailureKind Kind { get; } = kind;
}
