using System.Globalization;
using System.Text.Json;
using TrainingService.Api.Datasets;
using TrainingService.Api.Infrastructure;
using TrainingService.Contracts;
using TrainingService.Contracts.Architectures;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Contracts.Telemetry;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Jobs;

/// <summary>
/// Turns a <see cref="CreateJobRequest"/> into the job to store, or into the list of everything
/// wrong with it, each under the JSON path of its field. Nothing is written here: the caller
/// stores the job only when there are no errors.
/// </summary>
public static class JobSubmission
{
    public const int MaxNameLength = 200;
    public const int MaxTags = 32;
    public const int MaxTagLength = 64;
    public const int MaxIdempotencyKeyLength = 200;
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    private static readonly string[] Kinds = ["train", "eval"];

    public sealed record Outcome(JobRecord? Job, Dictionary<string, string[]> Errors);

    public static async Task<Outcome> BuildAsync(
        CreateJobRequest request, string? idempotencyKey, IJobStore store, ICheckpointIndex checkpointIndex, DateTimeOffset now, CancellationToken cancellationToken,
        Func<JobRecord, bool>? canSee = null, DatasetLookup? datasets = null)
    {
        var errors = new FieldErrors();

        CheckIdempotencyKey(idempotencyKey, errors);
        var kind = ParseKind(request.Kind, errors);
        var name = CheckName(request.Name, errors);
        var tags = CheckTags(request.Tags, errors);
        var expect = ExpectationsRequest.Read(request.Expect, kind, errors);

        ArchitectureInfo? architecture = null;
        Hyperparameters? hyperparameters = null;
        EvalSource? source = null;
        JobRecord? sourceRecord = null;
        if (kind == JobKind.Train)
        {
            if (request.Source is not null)
                errors.Add("source", "Only an eval job has a source; a training job starts from its architecture's initial weights.");
            architecture = ParseArchitecture(request.Architecture, required: true, errors);
            hyperparameters = HyperparameterOverrides.Apply(architecture?.Defaults ?? new Hyperparameters(), request.Hyperparameters, HyperparameterError(errors));
            // The defaults name the normalization already; this keeps every stored job explicit.
            if (architecture is not null)
                hyperparameters = architecture.WithNormalizationNamed(hyperparameters);
        }
        else if (kind == JobKind.Eval)
        {
            var given = ParseArchitecture(request.Architecture, required: false, errors);
            var sourceJob = await CheckSourceAsync(request.Source, store, checkpointIndex, canSee ?? (_ => true), errors, cancellationToken);
            if (sourceJob is not null)
            {
                source = new EvalSource(sourceJob.Value.Job.Id, sourceJob.Value.Checkpoint);
                sourceRecord = sourceJob.Value.Job;
                architecture = ArchitectureCatalog.Find(sourceJob.Value.Job.Architecture);
                if (given is not null && given.Name != sourceJob.Value.Job.Architecture)
                    errors.Add("architecture",
                        $"An eval job evaluates its source job's architecture, {sourceJob.Value.Job.Architecture}; omit architecture or give that.");
                hyperparameters = EvalHyperparameters(sourceJob.Value.Job.Hyperparameters, request.Hyperparameters, errors);
            }
            else
            {
                // Still check what can be checked without the source, so one round trip reports it all.
                EvalHyperparameters(new Hyperparameters(), request.Hyperparameters, errors);
            }
        }

        var dataset = kind is { } k
            ? await JobDatasets.ResolveAsync(request.Dataset, k, sourceRecord, architecture, hyperparameters, datasets ?? DatasetLookup.BuiltInsOnly, errors, cancellationToken)
            : null;
        if (!errors.Any && (architecture is null || hyperparameters is null || kind is null || dataset is null))
            errors.Add("body", "The job could not be built from this request.");
        if (errors.Any)
            return new Outcome(null, errors.ToDictionary());

        return new Outcome(new JobRecord
        {
            Id = Guid.CreateVersion7(now),
            Kind = kind!.Value,
            Architecture = architecture!.Name,
            Name = name,
            Tags = tags,
            Hyperparameters = hyperparameters!,
            Dataset = dataset!,
            Source = source,
            IdempotencyKey = idempotencyKey,
            Queue = QueueFor(hyperparameters!.Device),
            CreatedAt = now,
            Expect = expect,
            TraceParent = JobTracing.CurrentTraceParent(),
        }, errors.ToDictionary());
    }

    /// <summary>
    /// Whether a job found under an Idempotency-Key is the one this request asks for. A key reused
    /// for a different job is a client bug; handing back the other job would hide it.
    /// </summary>
    public static bool IsSameRequest(JobRecord existing, JobRecord requested) =>
        existing.Kind == requested.Kind
        && existing.Architecture == requested.Architecture
        && existing.Hyperparameters == requested.Hyperparameters
        && existing.Dataset == requested.Dataset
        && existing.Source == requested.Source
        && existing.Name == requested.Name
        && existing.Tags.SequenceEqual(requested.Tags, StringComparer.Ordinal)
        && SameExpectations(existing.Expect, requested.Expect);

    private static bool SameExpectations(IReadOnlyDictionary<string, ExpectationBound>? a, IReadOnlyDictionary<string, ExpectationBound>? b) =>
        (a ?? new Dictionary<string, ExpectationBound>()).OrderBy(e => e.Key, StringComparer.Ordinal)
            .SequenceEqual((b ?? new Dictionary<string, ExpectationBound>()).OrderBy(e => e.Key, StringComparer.Ordinal));

    /// <summary>The Hangfire queue: GPU jobs go where GPU workers listen, CPU jobs where CPU workers do, <c>auto</c> to anyone.</summary>
    public static string QueueFor(string device) =>
        device.StartsWith("cuda", StringComparison.Ordinal) ? "gpu"
        : device == "cpu" ? "cpu"
        : "default";

    private static void CheckIdempotencyKey(string? key, FieldErrors errors)
    {
        if (key is null)
            return;
        if (key.Length is 0 or > MaxIdempotencyKeyLength || key.Any(c => c is < '!' or > '~'))
            errors.Add(IdempotencyKeyHeader,
                $"Must be 1 to {MaxIdempotencyKeyLength} visible ASCII characters (a UUID is a good choice), given once.");
    }

    private static JobKind? ParseKind(string? value, FieldErrors errors)
    {
        switch (value)
        {
            case null:
                errors.Add("kind", "Required: train or eval.");
                return null;
            case "train":
                return JobKind.Train;
            case "eval":
                return JobKind.Eval;
            default:
                errors.Add("kind", $"Must be one of: {string.Join(", ", Kinds)}; got '{Shorten(value)}'.");
                return null;
        }
    }

    private static ArchitectureInfo? ParseArchitecture(string? value, bool required, FieldErrors errors)
    {
        if (value is null)
        {
            if (required)
                errors.Add("architecture", $"Required for a training job: one of {Names()}.");
            return null;
        }
        var architecture = ArchitectureCatalog.Find(value);
        if (architecture is null)
            errors.Add("architecture", $"Must be one of: {Names()}; got '{Shorten(value)}'.");
        return architecture;

        static string Names() => string.Join(", ", ArchitectureCatalog.All.Select(a => a.Name));
    }

    /// <summary>
    /// What a job's or sweep's name must be. Control characters are refused as in tags: a NUL, for
    /// one, cannot be stored in a PostgreSQL text column at all (the insert failed with a 500).
    /// </summary>
    public static readonly string NameRule = $"Must be 1 to {MaxNameLength} characters, not blank, without control characters; omit it for no name.";

    public static bool IsValidName(string name) => name.Length <= MaxNameLength && !string.IsNullOrWhiteSpace(name) && !name.Any(char.IsControl);

    private static string? CheckName(string? name, FieldErrors errors)
    {
        if (name is not null && !IsValidName(name))
            errors.Add("name", NameRule);
        return name;
    }

    private static IReadOnlyList<string> CheckTags(IReadOnlyList<string?>? tags, FieldErrors errors)
    {
        if (tags is null)
            return [];
        if (tags.Count > MaxTags)
            errors.Add("tags", $"At most {MaxTags} tags; got {tags.Count}.");
        var kept = new List<string>();
        for (var i = 0; i < tags.Count; i++)
        {
            var tag = tags[i];
            if (tag is null || string.IsNullOrWhiteSpace(tag) || tag.Length > MaxTagLength || tag.Any(char.IsControl))
                errors.Add($"tags[{i}]", $"Must be a string of 1 to {MaxTagLength} characters, not blank, without control characters.");
            else if (!kept.Contains(tag, StringComparer.Ordinal))
                kept.Add(tag);
        }
        return kept;
    }

    /// <summary>An eval runs with its source's hyperparameters; only the device it runs on is the client's choice.</summary>
    private static Hyperparameters EvalHyperparameters(Hyperparameters source, JsonElement? request, FieldErrors errors) =>
        HyperparameterOverrides.Apply(source, request, HyperparameterError(errors), EvalChoices,
            "An eval job uses its source job's hyperparameters; only device may be given.");

    /// <summary>Reports a hyperparameter's problem under its JSON path: <c>hyperparameters.epochs</c>.</summary>
    private static Action<string, string> HyperparameterError(FieldErrors errors) =>
        (field, message) => errors.Add(field.Length == 0 ? "hyperparameters" : $"hyperparameters.{field}", message);

    private static readonly IReadOnlySet<string> EvalChoices = new HashSet<string>(StringComparer.Ordinal) { "device" };

    /// <summary>The source job and the normalised checkpoint reference, or null with the reasons added to <paramref name="errors"/>.</summary>
    private static async Task<(JobRecord Job, string Checkpoint)?> CheckSourceAsync(
        EvalSourceRequest? source, IJobStore store, ICheckpointIndex checkpointIndex, Func<JobRecord, bool> canSee, FieldErrors errors, CancellationToken cancellationToken)
    {
        if (source is null)
        {
            errors.Add("source", "Required for an eval job: { \"jobId\": <training job id>, \"checkpoint\": \"final\" | \"best\" | <epoch> }.");
            return null;
        }

        var reference = ParseCheckpointReference(source.Checkpoint, errors);
        if (source.JobId is not { } jobId)
        {
            errors.Add("source.jobId", "Required: the id of the training job whose checkpoint to evaluate.");
            return null;
        }

        var job = await store.GetAsync(jobId, cancellationToken);
        // Another owner's job reads exactly as one that does not exist.
        if (job is null || !canSee(job))
        {
            errors.Add("source.jobId", $"There is no job {jobId}.");
            return null;
        }
        if (job.Kind != JobKind.Train)
        {
            errors.Add("source.jobId", $"Job {jobId} is an eval job; only a training job's checkpoints can be evaluated.");
            return null;
        }
        if (reference is null)
            return null;

        var checkpoints = await checkpointIndex.GetCheckpointsAsync(jobId, cancellationToken);
        string? problem = reference switch
        {
            CheckpointFolder.FinalAlias when job.Status != JobStatus.Succeeded =>
                $"final needs the source job to have succeeded; it is {job.Status.ToString().ToLowerInvariant()}. Use best or an epoch number to evaluate it now.",
            CheckpointFolder.FinalAlias or CheckpointFolder.BestAlias when checkpoints.Count == 0 =>
                $"Job {jobId} has no checkpoints yet.",
            CheckpointFolder.FinalAlias or CheckpointFolder.BestAlias => null,
            _ when checkpoints.All(c => c.Epoch.ToString(CultureInfo.InvariantCulture) != reference) =>
                checkpoints.Count == 0
                    ? $"Job {jobId} has no checkpoints yet."
                    : $"Job {jobId} has no checkpoint of epoch {reference}; it has epochs {string.Join(", ", checkpoints.Select(c => c.Epoch).Order())}.",
            _ => null,
        };
        if (problem is not null)
        {
            errors.Add("source.checkpoint", problem);
            return null;
        }
        return (job, reference);
    }

    /// <summary>"final", "best", or an epoch as a number or a string of digits → "final", "best", "3". Omitted → "final".</summary>
    private static string? ParseCheckpointReference(JsonElement? value, FieldErrors errors)
    {
        const string expected = "Must be \"final\", \"best\" or an epoch number (1–9999).";
        if (value is not { } element || element.ValueKind == JsonValueKind.Null)
            return CheckpointFolder.FinalAlias;

        int epoch;
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                if (!TryGetText(element, out var text))
                {
                    // A lone surrogate ("\ud800") is valid JSON but no string: GetString throws on it.
                    errors.Add("source.checkpoint", $"{expected} Got a string that is not valid Unicode.");
                    return null;
                }
                if (text is CheckpointFolder.FinalAlias or CheckpointFolder.BestAlias)
                    return text;
                if (text.Length is >= 1 and <= 4 && text.All(char.IsAsciiDigit))
                {
                    epoch = int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
                    break;
                }
                errors.Add("source.checkpoint", $"{expected} Got '{Shorten(text)}'.");
                return null;
            case JsonValueKind.Number when element.TryGetInt32(out epoch):
                break;
            default:
                errors.Add("source.checkpoint", expected);
                return null;
        }
        if (epoch is < 1 or > CheckpointFolder.MaxEpoch)
        {
            errors.Add("source.checkpoint", expected);
            return null;
        }
        return epoch.ToString(CultureInfo.InvariantCulture);
    }

    private static bool TryGetText(JsonElement element, out string text)
    {
        try
        {
            text = element.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            text = "";
            return false;
        }
    }

    private static string Shorten(string value) => Infrastructure.Problems.Shorten(value);
}
