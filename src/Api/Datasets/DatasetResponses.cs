using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Contracts.Architectures;
using TrainingService.Contracts.Datasets;

namespace TrainingService.Api.Datasets;

/// <summary>A dataset as clients see it: built in or uploaded, what a job's <c>dataset</c> names it by, its geometry and files.</summary>
public sealed record DatasetResponse : IOpenApiExample<DatasetResponse>
{
    /// <summary>What a job's <c>dataset</c> says to use it: <c>mnist</c>, <c>fashion-mnist</c>, or an upload's id.</summary>
    public required string Name { get; init; }

    /// <summary>An upload's id; null for a built-in.</summary>
    public required Guid? Id { get; init; }

    /// <summary>A label for people: the built-in's title, or the name given on upload (else the id).</summary>
    public required string Title { get; init; }

    /// <summary>True for the built-ins (MNIST, Fashion-MNIST); false for uploads.</summary>
    public required bool BuiltIn { get; init; }

    /// <summary>What a built-in is; null for uploads.</summary>
    public required string? Description { get; init; }

    /// <summary>Image height in pixels.</summary>
    public required int ImageRows { get; init; }

    /// <summary>Image width in pixels.</summary>
    public required int ImageColumns { get; init; }

    /// <summary>Colour channels: 1 (grey) for IDX images.</summary>
    public required int Channels { get; init; }

    /// <summary>How many classes the labels name; every label is below it.</summary>
    public required int ClassCount { get; init; }

    /// <summary>One name per class, label 0's first (an upload given none has the labels' numbers).</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>Training images.</summary>
    public required int TrainCount { get; init; }

    /// <summary>Test images.</summary>
    public required int TestCount { get; init; }

    /// <summary>The architectures that take this dataset's geometry: a training job of any other is refused.</summary>
    public required IReadOnlyList<string> Architectures { get; init; }

    /// <summary>The four IDX files, decompressed, with their digests.</summary>
    public required IReadOnlyList<DatasetFileResponse> Files { get; init; }

    /// <summary>An upload's digest: the SHA-256 of its four files' SHA-256s (lowercase hex, each followed by a newline, in the order of files). Workers check the files before each job. Null for a built-in, whose files carry their publisher's MD5s.</summary>
    public required string? Digest { get; init; }

    /// <summary>Bytes of the four decompressed files.</summary>
    public required long SizeBytes { get; init; }

    /// <summary>The name of the API key that uploaded it; null for built-ins and uploads made with authentication off.</summary>
    public required string? Owner { get; init; }

    /// <summary>When it was uploaded; null for a built-in.</summary>
    public required DateTimeOffset? CreatedAt { get; init; }

    public static DatasetResponse Example { get; } = DatasetCatalog.FashionMnist.ToResponse(null, null, null);
}

/// <summary>One of a dataset's IDX files.</summary>
public sealed record DatasetFileResponse : IOpenApiExample<DatasetFileResponse>
{
    /// <summary>Its name: <c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>, <c>t10k-images-idx3-ubyte</c> or <c>t10k-labels-idx1-ubyte</c>.</summary>
    public required string Name { get; init; }

    /// <summary>train or test.</summary>
    public required DatasetSplit Split { get; init; }

    /// <summary>images or labels.</summary>
    public required IdxFileKind Kind { get; init; }

    /// <summary>Images or labels it holds.</summary>
    public required int Count { get; init; }

    /// <summary>Bytes of its decompressed content, header included.</summary>
    public required long SizeBytes { get; init; }

    /// <summary>MD5 of its decompressed content, as its publisher gives it (built-ins); else null.</summary>
    public required string? Md5 { get; init; }

    /// <summary>SHA-256 of its content, recorded at upload (uploads); else null.</summary>
    public required string? Sha256 { get; init; }

    public static DatasetFileResponse Example => DatasetResponse.Example.Files[0];
}

/// <summary>The datasets a caller may use: the built-ins, then their uploads, newest first.</summary>
public sealed record DatasetListResponse : IOpenApiExample<DatasetListResponse>
{
    /// <summary>Built-ins first, then uploads, newest first.</summary>
    public required IReadOnlyList<DatasetResponse> Items { get; init; }

    public static DatasetListResponse Example => new() { Items = [DatasetResponse.Example] };
}

public static class DatasetMapping
{
    public static DatasetResponse ToResponse(this DatasetRecord record) =>
        record.ToInfo().ToResponse(record.Id, record.Owner, record.CreatedAt, record.Digest);

    public static DatasetResponse ToResponse(this DatasetInfo dataset, Guid? id, string? owner, DateTimeOffset? createdAt, string? digest = null) => new()
    {
        Name = dataset.Name,
        Id = id,
        Title = dataset.Title,
        BuiltIn = dataset.BuiltIn,
        Description = dataset.Description,
        ImageRows = dataset.Geometry.Rows,
        ImageColumns = dataset.Geometry.Columns,
        Channels = dataset.Geometry.Channels,
        ClassCount = dataset.Geometry.ClassCount,
        ClassNames = dataset.ClassNames,
        TrainCount = dataset.TrainCount,
        TestCount = dataset.TestCount,
        Architectures = [.. ArchitectureCatalog.All.Where(a => a.Supports(dataset.Geometry)).Select(a => a.Name)],
        Files = [.. dataset.Files.Select(f => new DatasetFileResponse
        {
            Name = f.BaseName, Split = f.Split, Kind = f.Kind, Count = f.Count, SizeBytes = f.DecompressedSize, Md5 = f.Md5, Sha256 = f.Sha256,
        })],
        Digest = digest,
        SizeBytes = dataset.Files.Sum(f => f.DecompressedSize),
        Owner = owner,
        CreatedAt = createdAt,
    };
}

/// <summary>
/// The multipart/form-data fields of <c>POST /datasets</c> (documentation only: the handler streams
/// the parts itself). Each file is an IDX file of unsigned bytes, raw or gzip-compressed (decided by
/// its first bytes), as MNIST publishes them.
/// </summary>
public sealed class UploadDatasetForm
{
    /// <summary>The training images: IDX with three dimensions (magic 0x00000803; count, rows, columns), grey pixels 0–255. Required.</summary>
    public required IFormFile TrainImages { get; init; }

    /// <summary>The training labels: IDX with one dimension (magic 0x00000801), one byte per image, each below classCount. Required.</summary>
    public required IFormFile TrainLabels { get; init; }

    /// <summary>The test images, the training images' size. Required.</summary>
    public required IFormFile TestImages { get; init; }

    /// <summary>The test labels. Required.</summary>
    public required IFormFile TestLabels { get; init; }

    /// <summary>A label for people, 1–200 characters. Optional.</summary>
    public string? Name { get; init; }

    /// <summary>How many classes the labels name, 2–256 (default 10); every label must be below it.</summary>
    public int? ClassCount { get; init; }

    /// <summary>A JSON array of one name per class, label 0's first, each 1–64 characters, e.g. <c>["cat", "dog"]</c>. Optional.</summary>
    public string? ClassNames { get; init; }
}

/// <summary>The upload form's example: files cannot be written as JSON, so they are shown as what to send.</summary>
public sealed class UploadDatasetFormExample : Swashbuckle.AspNetCore.SwaggerGen.ISchemaFilter
{
    public void Apply(Microsoft.OpenApi.IOpenApiSchema schema, Swashbuckle.AspNetCore.SwaggerGen.SchemaFilterContext context)
    {
        if (context.Type != typeof(UploadDatasetForm) || schema is not Microsoft.OpenApi.OpenApiSchema target)
            return;
        target.Examples = [new System.Text.Json.Nodes.JsonObject
        {
            ["trainImages"] = "(the bytes of train-images-idx3-ubyte.gz)",
            ["trainLabels"] = "(the bytes of train-labels-idx1-ubyte.gz)",
            ["testImages"] = "(the bytes of t10k-images-idx3-ubyte)",
            ["testLabels"] = "(the bytes of t10k-labels-idx1-ubyte)",
            ["name"] = "digits, first 6,000",
            ["classCount"] = 10,
        }];
    }
}
