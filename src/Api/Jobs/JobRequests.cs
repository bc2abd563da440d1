using System.Text.Json;
using System.Text.Json.Serialization;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Api.Webhooks;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Jobs;

/// <summary>
/// A job to run: train an architecture on a dataset (MNIST unless it names another), or evaluate a
/// checkpoint of an earlier training job on a test set. Unknown fields are rejected.
/// </summary>
public sealed class CreateJobRequest : IOpenApiExample<CreateJobRequest>
{
    /// <summary><c>train</c> or <c>eval</c>. Required.</summary>
    public string? Kind { get; init; }

    /// <summary><c>convnet</c>, <c>resnet18</c> or <c>attention</c> (see <c>GET /architectures</c>). Required for a training job; an eval job evaluates its source's architecture, so there it may be omitted (if given, it must match).</summary>
    public string? Architecture { get; init; }

    /// <summary>Overrides of the architecture's default hyperparameters (the fields of <c>Hyperparameters</c>); omitted (or null) fields keep the defaults. An eval job uses its source's hyperparameters and accepts only <c>device</c>.</summary>
    public JsonElement? Hyperparameters { get; init; }

    /// <summary>
    /// What to train or evaluate on: <c>mnist</c> (the default for a training job), <c>fashion-mnist</c>, or the id of an
    /// uploaded dataset (see <c>GET /datasets</c>). Its images must be a size the architecture takes (every architecture
    /// here: 28×28 grey images in 10 classes). An eval job evaluates on its source job's dataset unless it names another
    /// of the same geometry.
    /// </summary>
    public string? Dataset { get; init; }

    /// <summary>For an eval job (and only then): the training job and checkpoint to evaluate.</summary>
    public EvalSourceRequest? Source { get; init; }

    /// <summary>Conditions on the final figures for a CI pipeline to gate on, by figure: <c>testAccuracy</c>, <c>testLoss</c>, <c>bestTestAccuracy</c>, <c>bestTestLoss</c> (fractions and mean losses) or <c>wallSeconds</c>, each <c>{"min": x}</c>, <c>{"max": y}</c> or both. Checked when the job has succeeded: <c>result.expectations</c> says per condition the value and whether it held, and <c>result.passed</c> whether all did. Optional.</summary>
    public JsonElement? Expect { get; init; }

    /// <summary>A label for people, 1–200 characters, no control characters. Optional.</summary>
    public string? Name { get; init; }

    /// <summary>Up to 32 tags of 1–64 characters each, to filter by (<c>GET /jobs?tag=</c>). Repeats are dropped. Optional.</summary>
    public IReadOnlyList<string?>? Tags { get; init; }

    /// <summary>Where to POST a signed event when the job ends (succeeded, failed or cancelled); see <c>GET /jobs/{id}/webhooks</c> and docs/webhooks.md. Optional.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public CallbackRequest? Callback { get; init; }

    public static CreateJobRequest Example { get; } = new()
    {
        Kind = "train",
        Architecture = "convnet",
        Dataset = "fashion-mnist",
        Hyperparameters = JsonDocument.Parse("""{ "epochs": 3, "learningRate": 0.002, "device": "auto" }""").RootElement,
        Name = "convnet baseline",
        Tags = ["baseline", "ci"],
        Expect = JsonDocument.Parse("""{ "testAccuracy": { "min": 0.99 }, "wallSeconds": { "max": 600 } }""").RootElement,
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
