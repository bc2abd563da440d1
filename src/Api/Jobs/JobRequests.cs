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

    /// <summary>Overrides of the architecture's default hyperparameters (the fields of <c>Hyperparameters</c>); omitted (or null) fields keep the defaults. An eval job uses its source's hyperparameters and accepts only <c>device</c>.</summary>
    public JsonElement? Hyperparameters { get; init; }

    /// <summary>For an eval job (and only then): the training job and checkpoint to evaluate.</summary>
    public EvalSourceRequest? Source { get; init; }

    /// <summary>A label for people, 1–200 characters, no control characters. Optional.</summary>
    public string? Name { get; init; }

    /// <summary>Up to 32 tags of 1–64 characters each, to filter by (<c>GET /jobs?tag=</c>). Repeats are dropped. Optional.</summary>
    public IReadOnlyList<string?>? Tags { get; init; }

    public static CreateJobRequest Example { get; } = new()
    {
        Kind = "train",
        Architecture = "convnet",
        Hyperparameters = JsonDocument.Parse("""{ "epochs": 3, "learningRate": 0.002, "device": "auto" }""").RootElement,
        Name = "convnet baseline",
        Tags = ["baseline", "ci"],
    };
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
