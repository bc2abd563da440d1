using System.Text.Json;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Api.Jobs;
using TrainingService.Api.Webhooks;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Sweeps;

/// <summary>
/// A sweep: a base training job and a grid of hyperparameter values; every combination becomes
/// one job, validated exactly as <c>POST /jobs</c> validates a job. Unknown fields are rejected.
/// </summary>
public sealed class CreateSweepRequest : IOpenApiExample<CreateSweepRequest>
{
    /// <summary>A label for people, 1–200 characters, no control characters. Optional.</summary>
    public string? Name { get; init; }

    /// <summary>The training job every point starts from: a <c>POST /jobs</c> body with kind <c>train</c>. Required.</summary>
    public CreateJobRequest? Base { get; init; }

    /// <summary>
    /// Axis → values. An axis is a hyperparameter (<c>batchSize</c>, <c>learningRate</c>,
    /// <c>seed</c>, …) or <c>architecture</c>; each point of the grid overrides the base job with one
    /// value per axis. Up to 8 axes of up to 50 values, and at most 256 points in all. Runs that
    /// differ only in <c>seed</c> are averaged in the comparison.
    /// </summary>
    public Dictionary<string, JsonElement[]>? Grid { get; init; }

    /// <summary>At most this many of the sweep's jobs are queued or running at once (1–64, default 2); the rest wait.</summary>
    public int? MaxConcurrent { get; init; }

    /// <summary>
    /// Where to POST a signed event when the sweep ends (<c>sweep.succeeded</c>, <c>sweep.failed</c> or
    /// <c>sweep.cancelled</c>); see <c>GET /sweeps/{id}/webhooks</c> and docs/webhooks.md. Optional. Its jobs'
    /// own ends go to their owner's default subscriptions (<c>POST /webhooks</c>), not here.
    /// </summary>
    public CallbackRequest? Callback { get; init; }

    public static CreateSweepRequest Example { get; } = new()
    {
        Name = "convnet: batch size × seed",
        Base = new CreateJobRequest { Kind = "train", Architecture = "convnet", Hyperparameters = JsonDocument.Parse("""{ "epochs": 3 }""").RootElement },
        Grid = new Dictionary<string, JsonElement[]>
        {
            ["batchSize"] = [JsonSerializer.SerializeToElement(32), JsonSerializer.SerializeToElement(256)],
            ["seed"] = [JsonSerializer.SerializeToElement(1), JsonSerializer.SerializeToElement(2)],
        },
        MaxConcurrent = 2,
    };
}
