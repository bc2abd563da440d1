using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using TrainingService.Api.Infrastructure;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Api.Jobs;
using TrainingService.Contracts;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Checkpoints;

/// <summary>
/// <c>/jobs/{id}/checkpoints</c>: the list from the store, and downloads from the checkpoint
/// volume. Files are found only through <see cref="CheckpointFolder"/> on the job's own folder,
/// which accepts nothing but <c>final</c>, <c>best</c>, an epoch number or a label: no path is
/// ever built from what the client typed.
/// </summary>
public static class CheckpointsEndpoints
{
    private const string OctetStream = "application/octet-stream";

    public static RouteGroupBuilder MapJobCheckpoints(this RouteGroupBuilder jobs)
    {
        jobs.MapGet("/{id}/checkpoints", ListAsync)
            .WithName("ListJobCheckpoints")
            .WithSummary("List a job's checkpoints")
            .WithDescription("""
                Every checkpoint the job has saved (one per epoch), with size, SHA-256, the epoch's metrics and a
                download URL; `best` and `final` say which epochs those aliases point to, once set.
                """)
            .ProducesProblem(StatusCodes.Status404NotFound);

        jobs.MapGet("/{id}/checkpoints/{reference}", DownloadAsync)
            .WithName("DownloadJobCheckpoint")
            .WithSummary("Download a checkpoint's weights (safetensors)")
            .WithDescription("""
                Streams the checkpoint's `model.safetensors`: the weights under their PyTorch names, loadable with
                `safetensors.torch.load_file` and `load_state_dict(strict=True)` (see docs/pytorch/models.py).
                `reference` is `final`, `best`, an epoch number (`3`) or a label (`epoch-0003`). The `ETag` is the file's
                SHA-256 (quoted); `If-None-Match` gives 304, and `Range` requests (206) resume interrupted downloads.
                Anything that is not a reference gives 400; a reference with no checkpoint (yet) gives 404.
                """)
            .WithMetadata(new ResponseContentExample(StatusCodes.Status200OK, OctetStream, "", Binary: true))
            .WithMetadata(new ResponseContentExample(StatusCodes.Status206PartialContent, OctetStream, "", Binary: true))
            .Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .Produces(StatusCodes.Status416RangeNotSatisfiable);

        jobs.MapGet("/{id}/checkpoints/{reference}/manifest", GetManifestAsync)
            .WithName("GetJobCheckpointManifest")
            .WithSummary("Get a checkpoint's manifest")
            .WithDescription("""
                The checkpoint's manifest: format version, architecture, hyperparameters, epoch, metrics, and each
                file's size and SHA-256. `reference` is as for the download.
                """)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return jobs;
    }

    private static async Task<Results<Ok<CheckpointListResponse>, ProblemHttpResult>> ListAsync(
        [ParameterSchema(Description = "The job's id.", Example = "0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e")] string id,
        [FromServices] IJobStore store,
        [FromServices] ICheckpointIndex index,
        [FromServices] IOptions<CheckpointOptions> checkpointOptions,
        [FromServices] ILogger<CheckpointFolder> logger,
        CancellationToken cancellationToken)
    {
        if (!JobIds.TryParse(id, out var jobId) || await store.GetAsync(jobId, cancellationToken) is null)
            return Problems.JobNotFound(id);
        var records = await index.GetCheckpointsAsync(jobId, cancellationToken);
        var files = new CheckpointFolder(checkpointOptions.Value.JobDirectory(jobId));
        return TypedResults.Ok(new CheckpointListResponse
        {
            Checkpoints = [.. records.OrderBy(r => r.Epoch).Select(CheckpointResponse.From)],
            Best = AliasEpoch(files, CheckpointFolder.BestAlias, jobId, logger),
            Final = AliasEpoch(files, CheckpointFolder.FinalAlias, jobId, logger),
        });
    }

    private static async Task<Results<PhysicalFileHttpResult, ValidationProblem, ProblemHttpResult>> DownloadAsync(
        [ParameterSchema(Description = "The job's id.", Example = "0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e")] string id,
        [ParameterSchema(Description = "final, best, an epoch number or a label (epoch-0003).", Example = "best")] string reference,
        [FromServices] IJobStore store,
        [FromServices] IOptions<CheckpointOptions> checkpointOptions,
        [FromServices] ILogger<CheckpointFolder> logger,
        CancellationToken cancellationToken)
    {
        var found = await FindAsync(id, reference, store, checkpointOptions.Value, logger, cancellationToken);
        if (found.Failure is not null)
            return found.Failure.Value.Problem is { } problem ? problem : found.Failure.Value.Invalid!;
        var (jobId, files, manifest) = found.Checkpoint!.Value;

        var entry = manifest.Files.FirstOrDefault(f => f.Name == CheckpointFolder.ModelFileName);
        // The folder name comes from the manifest's epoch, which the store checked against the
        // folder it read it from; the file name is our constant.
        var path = Path.Combine(files.StoreDirectory, manifest.Label, CheckpointFolder.ModelFileName);
        var file = new FileInfo(path);
        if (entry is null || !file.Exists || file.Length != entry.SizeBytes)
        {
            // The manifest and the file disagree: the checkpoint is damaged. Serving it would hand
            // out bytes whose ETag (the manifest's hash) is a lie.
            logger.LogError("Checkpoint {Label} of job {JobId} is damaged: {Path} is missing or not the size its manifest gives.", manifest.Label, jobId, path);
            return Problems.ServerError($"Checkpoint {manifest.Label} of job {jobId} is damaged on the server.");
        }

        return TypedResults.PhysicalFile(
            path,
            OctetStream,
            fileDownloadName: $"{jobId:D}-{manifest.Label}.safetensors",
            lastModified: file.LastWriteTimeUtc,
            entityTag: new EntityTagHeaderValue($"\"{entry.Sha256}\""),
            enableRangeProcessing: true);
    }

    private static async Task<Results<Ok<CheckpointManifestResponse>, ValidationProblem, ProblemHttpResult>> GetManifestAsync(
        [ParameterSchema(Description = "The job's id.", Example = "0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e")] string id,
        [ParameterSchema(Description = "final, best, an epoch number or a label (epoch-0003).", Example = "3")] string reference,
        [FromServices] IJobStore store,
        [FromServices] IOptions<CheckpointOptions> checkpointOptions,
        [FromServices] ILogger<CheckpointFolder> logger,
        CancellationToken cancellationToken)
    {
        var found = await FindAsync(id, reference, store, checkpointOptions.Value, logger, cancellationToken);
        if (found.Failure is not null)
            return found.Failure.Value.Problem is { } problem ? problem : found.Failure.Value.Invalid!;
        return TypedResults.Ok(CheckpointManifestResponse.From(found.Checkpoint!.Value.Manifest));
    }

    private readonly record struct Lookup(
        (Guid JobId, CheckpointFolder Files, CheckpointManifest Manifest)? Checkpoint,
        (ProblemHttpResult? Problem, ValidationProblem? Invalid)? Failure);

    /// <summary>The job's checkpoint that <paramref name="reference"/> names, or the answer to give instead.</summary>
    private static async Task<Lookup> FindAsync(
        string id, string reference, IJobStore store, CheckpointOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        if (!JobIds.TryParse(id, out var jobId) || await store.GetAsync(jobId, cancellationToken) is null)
            return new(null, (Problems.JobNotFound(id), null));

        var files = new CheckpointFolder(options.JobDirectory(jobId));
        CheckpointManifest? manifest;
        try
        {
            manifest = files.Resolve(reference);
        }
        catch (ArgumentException)
        {
            return new(null, (null, Problems.Invalid("reference",
                $"'{Problems.Shorten(reference)}' is not a checkpoint reference; use final, best, an epoch number (3) or a label (epoch-0003).")));
        }
        catch (CheckpointException e)
        {
            logger.LogError(e, "Checkpoint {Reference} of job {JobId} cannot be read.", reference, jobId);
            return new(null, (Problems.ServerError($"Checkpoint '{reference}' of job {jobId} is damaged on the server."), null));
        }

        if (manifest is null)
        {
            var detail = reference is CheckpointFolder.BestAlias or CheckpointFolder.FinalAlias
                ? $"Job {jobId} has no {reference} checkpoint yet."
                : $"Job {jobId} has no checkpoint '{reference}'.";
            return new(null, (Problems.NotFound(detail), null));
        }
        return new((jobId, files, manifest), null);
    }

    private static int? AliasEpoch(CheckpointFolder files, string alias, Guid jobId, ILogger logger)
    {
        try
        {
            return files.Resolve(alias)?.Epoch;
        }
        catch (CheckpointException e)
        {
            // A damaged alias must not take the whole listing down; the download reports it.
            logger.LogWarning(e, "Alias {Alias} of job {JobId} cannot be read.", alias, jobId);
            return null;
        }
    }
}
