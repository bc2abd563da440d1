using System.Text.Json;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Api.Jobs;
using TrainingService.Api.Webhooks;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Sweeps;

/// <summary>
/// A sweep: a base training job and the points (trials) to run from it — every combination of a
/// grid's values, or <c>trials</c> draws from a space's distributions — each one job, validated
/// exactly as <c>POST /jobs</c> validates a job; optionally an early-stopping rule that stops lagging
/// trials. Unknown fields are rejected.
/// </summary>
public sealed class CreateSweepRequest : IOpenApiExample<CreateSweepRequest>
{
    /// <summary>A label for people, 1–200 characters, no control characters. Optional.</summary>
    public string? Name { get; init; }

    /// <summary>The training job every point starts from: a <c>POST /jobs</c> body with kind <c>train</c>. Required.</summary>
    public CreateJobRequest? Base { get; init; }

    /// <summary>
    /// <c>grid</c> (the default: every combination of <c>grid</c>'s values) or <c>random</c>
    /// (<c>trials</c> points drawn from <c>space</c> with <c>seed</c>).
    /// </summary>
    public string? Method { get; init; }

    /// <summary>
    /// For <c>method: grid</c>: axis → values. An axis is a hyperparameter (<c>batchSize</c>, <c>learningRate</c>,
    /// <c>seed</c>, …) or <c>architecture</c>; each point of the grid overrides the base job with one
    /// value per axis. Up to 8 axes of up to 50 values, and at most 256 points in all. Runs that
    /// differ only in <c>seed</c> are averaged in the comparison.
    /// </summary>
    public Dictionary<string, JsonElement[]>? Grid { get; init; }

    /// <summary>
    /// For <c>method: random</c>: axis → distribution, one of <c>{ "choice": [values…] }</c>,
    /// <c>{ "uniform": [low, high] }</c>, <c>{ "logUniform": [low, high] }</c> (0 &lt; low) or
    /// <c>{ "intRange": [low, high] }</c> (whole numbers, both ends included). Axes as for <c>grid</c>;
    /// <c>uniform</c> and <c>logUniform</c> need a real-valued hyperparameter, <c>intRange</c> a whole-number
    /// one, <c>architecture</c> a <c>choice</c>. Up to 8 axes.
    /// </summary>
    public Dictionary<string, JsonElement>? Space { get; init; }

    /// <summary>For <c>method: random</c>: how many trials (points) to draw, 1–256. Required.</summary>
    public int? Trials { get; init; }

    /// <summary>
    /// For <c>method: random</c>: the seed of the draws (0 to 2,147,483,647); the same space, trials and
    /// seed give the same trials. Omitted, the service picks one and shows it on the sweep.
    /// </summary>
    public int? Seed { get; init; }

    /// <summary>Stop trials whose metric lags the others' (<c>asha</c> or <c>median</c>); omitted, every trial runs to its end.</summary>
    public EarlyStoppingRequest? EarlyStopping { get; init; }

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

/// <summary>
/// An early-stopping rule. A stopped trial ends <c>cancelled</c> with termination reason
/// <c>stopped-by-search</c>, at its next step boundary, keeping its checkpoints and metrics.
/// </summary>
public sealed class EarlyStoppingRequest : IOpenApiExample<EarlyStoppingRequest>
{
    /// <summary>
    /// <c>asha</c>: asynchronous successive halving — rungs at epochs r, rη, rη², … (r =
    /// <c>gracePeriod</c>, η = <c>reductionFactor</c>); a trial reaching a rung continues only if its
    /// metric is at least the (1 − 1/η) quantile of the values the trials before it recorded at that
    /// rung. <c>median</c>: at each epoch from <c>gracePeriod</c> on, a trial whose metric is worse than the
    /// median of the other trials' at that epoch stops, once at least <c>minTrials</c> others have one. Required.
    /// </summary>
    public string? Rule { get; init; }

    /// <summary><c>testAccuracy</c> (the default; higher is better), <c>testLoss</c>, <c>trainAccuracy</c> or <c>trainLoss</c> (lower is better).</summary>
    public string? Metric { get; init; }

    /// <summary>ASHA's first rung r, or the first epoch the median rule judges: 1 or more, below the trials' epochs (default 1).</summary>
    public int? GracePeriod { get; init; }

    /// <summary>ASHA only: η, 2–10 (default 3). Of the trials reaching a rung, about 1/η continue.</summary>
    public int? ReductionFactor { get; init; }

    /// <summary>Median rule only: how many other trials must have reached an epoch before a trial is stopped there, 1–256 (default 3).</summary>
    public int? MinTrials { get; init; }

    public static EarlyStoppingRequest Example { get; } = new() { Rule = "asha", Metric = "testAccuracy", GracePeriod = 1, ReductionFactor = 3 };
}
