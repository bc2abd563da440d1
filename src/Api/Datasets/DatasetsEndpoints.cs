using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using TrainingService.Api.Infrastructure;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Api.Security;
using TrainingService.Contracts;
using TrainingService.Contracts.Datasets;

namespace TrainingService.Api.Datasets;

/// <summary><c>/datasets</c>: list the datasets, upload one (four IDX files), read one, delete an upload no unfinished job uses.</summary>
public static class DatasetsEndpoints
{
    /// <summary>The most uploads a listing shows.</summary>
    public const int MaxListed = 500;

    public static IServiceCollection AddDatasets(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DatasetOptions>().Bind(configuration.GetSection(DatasetOptions.SectionName))
            .Validate(options => options.Validate() is null, "Invalid Datasets settings: see the README's configuration table.")
            .ValidateOnStart();
        services.AddSingleton<DatasetVolume>();
        services.AddHostedService<DatasetJanitor>();
        services.ConfigureSwaggerGen(options => options.SchemaFilter<UploadDatasetFormExample>());
        return services;
    }

    public static IEndpointRouteBuilder MapDatasetsEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/datasets").WithTags("Datasets").RequireDatasetAccess();

        group.MapGet("/", ListAsync)
            .WithName("ListDatasets")
            .WithSummary("List the datasets a job can name")
            .WithDescription("""
                The built-in datasets (`mnist`, `fashion-mnist`), then the uploaded ones, newest first (at most 500): with
                authentication on, only the caller's own uploads unless the key is an admin's. A job names one by `name`.
                """);

        group.MapPost("/", CreateAsync)
            .WithName("UploadDataset")
            .WithSummary("Upload a dataset: four IDX files")
            .WithDescription("""
                A multipart/form-data body with the four IDX files as the parts `trainImages`, `trainLabels`, `testImages` and
                `testLabels` (each raw or gzip-compressed, as MNIST publishes them), and optionally `name`, `classCount` (2–256,
                default 10) and `classNames` (a JSON array). The parts are read as they arrive and checked before anything is
                stored: magic numbers, dimensions, images and labels pairing up, one image size, labels below `classCount`, and
                the sizes: each file's header claim is checked against `Datasets:MaxDatasetBytes` (256 MiB decompressed, all four
                together) before its data is read, and no file is decompressed past what its header claims, so a gzip bomb
                costs nothing. The body is at most `Datasets:MaxUploadBytes` (128 MiB as sent).

                201 with the dataset and its `Location`; a job then names it by its id (`dataset`). Its files are stored
                decompressed beside the checkpoints, immutable, with the SHA-256 of each, and workers check them before every
                job. A 400 names each offending part or field under `errors`; 413 a body or file over its limit; 415 a body
                that is not multipart/form-data. On any of them nothing is left behind.
                """)
            .WithMetadata(new JsonRequestBodyDocumentation(typeof(UploadDatasetForm),
                "The four IDX files (raw or gzip) and the optional name, classCount and classNames.", "multipart/form-data"))
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .RequireSubmissionRateLimit();

        group.MapGet("/{id}", GetAsync)
            .WithName("GetDataset")
            .WithSummary("Get a dataset")
            .WithDescription("A built-in by its name (`mnist`, `fashion-mnist`) or an upload by its id; another owner's upload gives 404, as one that does not exist does.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapDelete("/{id}", DeleteAsync)
            .WithName("DeleteDataset")
            .WithSummary("Delete an uploaded dataset")
            .WithDescription("""
                Removes the upload's record and files: 204. While a job that names it is queued, running, cancelling or
                interrupted it is in use, and the answer is 409 with nothing changed; finished jobs keep naming it (an eval of
                one of them must then name another dataset of the same geometry). A built-in cannot be deleted (409).
                """)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    public static ProblemHttpResult NotFound(string id) => Problems.NotFound($"There is no dataset '{Problems.Shorten(id)}'.");

    private static async Task<Ok<DatasetListResponse>> ListAsync(HttpContext context, [FromServices] IDatasetStore datasets, CancellationToken cancellationToken)
    {
        var uploads = await datasets.ListDatasetsAsync(Caller.Of(context).ListingOwner, MaxListed, cancellationToken);
        return TypedResults.Ok(new DatasetListResponse
        {
            Items = [.. DatasetCatalog.All.Select(d => d.ToResponse(null, null, null)), .. uploads.Select(d => d.ToResponse())],
        });
    }

    private static async Task<Results<Ok<DatasetResponse>, ProblemHttpResult>> GetAsync(
        [ParameterSchema(Description = "A built-in's name or an upload's id.", Example = "fashion-mnist")] string id,
        [FromServices] IDatasetStore datasets,
        CancellationToken cancellationToken)
    {
        if (DatasetCatalog.Find(id) is { } builtIn)
            return TypedResults.Ok(builtIn.ToResponse(null, null, null));
        return DatasetLookup.TryParseId(id, out var guid) && await datasets.GetDatasetAsync(guid, cancellationToken) is { } upload
            ? TypedResults.Ok(upload.ToResponse())
            : NotFound(id);
    }

    private static async Task<Results<Created<DatasetResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        HttpContext context,
        [FromServices] IDatasetStore datasets,
        [FromServices] DatasetVolume volume,
        [FromServices] IOptions<DatasetOptions> options,
        [FromServices] TimeProvider time,
        CancellationToken cancellationToken)
    {
        var now = StoredTime.Truncate(time.GetUtcNow()); // what the stores keep
        var upload = await DatasetUpload.ReceiveAsync(context.Request, options.Value, volume, Caller.Of(context).Owner, now, cancellationToken);
        if (upload.Problem is not null)
            return upload.Problem;
        if (upload.Errors is not null)
            return TypedResults.ValidationProblem(upload.Errors);

        var dataset = upload.Dataset!;
        try
        {
            await datasets.CreateDatasetAsync(dataset, cancellationToken);
        }
        catch
        {
            // Unrecorded, the folder would be invisible and never used: take it away again.
            volume.RemoveDataset(dataset.Id);
            throw;
        }
        return TypedResults.Created($"/datasets/{dataset.Id:D}", dataset.ToResponse());
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        [ParameterSchema(Description = "The upload's id.", Example = "0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e")] string id,
        [FromServices] IDatasetStore datasets,
        [FromServices] DatasetVolume volume,
        CancellationToken cancellationToken)
    {
        if (DatasetCatalog.Find(id) is not null)
            return Problems.Conflict("Built-in dataset", $"{id} is built in; only uploaded datasets can be deleted.");
        if (!DatasetLookup.TryParseId(id, out var guid))
            return NotFound(id);
        switch (await datasets.DeleteDatasetAsync(guid, cancellationToken))
        {
            case DatasetDeleteOutcome.NotFound:
                return NotFound(id);
            case DatasetDeleteOutcome.InUse:
                var jobs = await datasets.CountUnfinishedJobsUsingAsync(guid.ToString("D"), cancellationToken);
                return Problems.Conflict("Dataset in use",
                    $"{jobs} unfinished job(s) (queued, running, cancelling or interrupted) name dataset {guid}; delete it once they have ended, or cancel them.");
            default:
                // The record is gone, so no new job can name it; then its files go.
                volume.RemoveDataset(guid);
                return TypedResults.NoContent();
        }
    }
}
