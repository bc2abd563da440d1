using System.Text.Json;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Jobs;

/// <summary>
/// A job to run: train an architecture on MNIST, or evaluate a checkpoint of an earlier training
/// job on the MNIST test set. Unknown fields are rejected.
/// </summary>
public sealed class CreateJobRequest : IOpenApiExample<CreateJobRequest>
{
    /// <summary><c>train</c> or <c>eval</c>. Required.</summary>
    public string? Kind { get; init; }

    /// <summary><c>convnet</c>, <c>resnet18</c> or <c>attention</c> (see <c>GET /architectures</c>). Required for a training job; an eval job evaluates its source's architecture, so there it may be omitted (if given, it must match).</summary>
    public string? Architecture { get; init; }

    /// <summary>Overrides of the architecture's default hyperparameters; omitted (or null) fields keep the defaults. An eval job uses its source's hyperparameters and accepts only <c>device</c>.</summary>
    public HyperparametersRequest? Hyperparameters { get; init; }

    /// <summary>For an eval job (and only then): the training job and checkpoint to evaluate.</summary>
    public EvalSourceRequest? Source { get; init; }

    /// <summary>A label for people, 1–200 characters. Optional.</summary>
    public string? Name { get; init; }

    /// <summary>Up to 32 tags of 1–64 characters each, to filter by (<c>GET /jobs?tag=</c>). Repeats are dropped. Optional.</summary>
    public IReadOnlyList<string?>? Tags { get; init; }

    public static CreateJobRequest Example { get; } = new()
    {
        Kind = "train",
        Architecture = "convnet",
        Hyperparameters = new HyperparametersRequest { Epochs = 3, LearningRate = 0.002, Device = "auto" },
        Name = "convnet baseline",
        Tags = ["baseline", "ci"],
    };
}

/// <summary>Hyperparameters to override; every field is optional and defaults to the architecture's value.</summary>
public sealed class HyperparametersRequest : IOpenApiExample<HyperparametersRequest>
{
    /// <summary>Epochs to train, 1–1000.</summary>
    public int? Epochs { get; init; }

    /// <summary>Images per batch, 1–65,536.</summary>
    public int? BatchSize { get; init; }

    /// <summary>Peak learning rate: a finite number above 0 and at most 10.</summary>
    public double? LearningRate { get; init; }

    /// <summary><c>adam</c>, <c>adamw</c> or <c>sgd</c>.</summary>
    public string? Optimizer { get; init; }

    /// <summary>Weight decay, 0–1.</summary>
    public double? WeightDecay { get; init; }

    /// <summary>Momentum for <c>sgd</c>, at least 0 and below 1.</summary>
    public double? Momentum { get; init; }

    /// <summary><c>constant</c>, <c>step</c>, <c>cosine</c> or <c>onecycle</c>.</summary>
    public string? LrSchedule { get; init; }

    /// <summary>For the <c>step</c> schedule: epochs between decays, 1–1000.</summary>
    public int? StepEpochs { get; init; }

    /// <summary>For the <c>step</c> schedule: the factor at each decay, above 0 and at most 1.</summary>
    public double? StepGamma { get; init; }

    /// <summary>Random seed, 0 or more: the same seed on the same device gives the same run.</summary>
    public long? Seed { get; init; }

    /// <summary><c>auto</c>, <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>. Also picks the queue: <c>cuda…</c> → gpu, <c>cpu</c> → cpu, <c>auto</c> → default.</summary>
    public string? Device { get; init; }

    /// <summary>Train on only the first N of the 60,000 training images (1–60,000); omit for all.</summary>
    public int? TrainSubset { get; init; }

    /// <summary><c>batch</c>, <c>layer</c>, <c>group</c> or <c>none</c>: the architecture's normalization layers (README, "Architectures", says where each goes). Defaults to the notebook's: none for convnet, batch for resnet18, layer for attention.</summary>
    public string? Normalization { get; init; }

    public static HyperparametersRequest Example { get; } = new() { Epochs = 5, BatchSize = 256, LearningRate = 0.003, LrSchedule = "cosine", Device = "cuda" };
}

/// <summary>What an eval job evaluates.</summary>
public sealed class EvalSourceRequest : IOpenApiExample<EvalSourceRequest>
{
    /// <summary>The training job whose checkpoint is evaluated. Required.</summary>
    public Guid? JobId { get; init; }

    /// <summary>Which of its checkpoints: <c>"final"</c> (the default; the job must have succeeded), <c>"best"</c> (best test accuracy so far), or an epoch number (<c>3</c> or <c>"3"</c>).</summary>
    public JsonElement? Checkpoint { get; init; }

    public static EvalSourceRequest Example { get; } = new()
    {
        JobId = Guid.Parse("0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e"),
        Checkpoint = JsonDocument.Parse("\"best\"").RootElement,
    };
}
