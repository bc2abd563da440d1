using TrainingService.Contracts.Architectures;
using TrainingService.Api.Metrics;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Api.Jobs;
using TrainingService.Contracts;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Checkpoints;

/// <summary>A job's checkpoints, and which of them <c>best</c> and <c>final</c> name.</summary>
public sealed record CheckpointListResponse : IOpenApiExample<CheckpointListResponse>
{
    /// <summary>The checkpoints, by epoch.</summary>
    public required IReadOnlyList<CheckpointResponse> Checkpoints { get; init; }

    /// <summary>The epoch <c>best</c> (highest test accuracy) points to, once set.</summary>
    public required int? Best { get; init; }

    /// <summary>The epoch <c>final</c> points to, once the run has ended.</summary>
    public required int? Final { get; init; }

    public static CheckpointListResponse Example { get; } = new() { Checkpoints = [CheckpointResponse.Example], Best = 3, Final = 3 };
}

/// <summary>One saved epoch.</summary>
public sealed record CheckpointResponse : IOpenApiExample<CheckpointResponse>
{
    /// <summary>The epoch it was saved after.</summary>
    public required int Epoch { get; init; }

    /// <summary>Size in bytes.</summary>
    public required long SizeBytes { get; init; }

    /// <summary>SHA-256 of the weights file (lowercase hex); also the download's ETag.</summary>
    public required string Sha256 { get; init; }

    /// <summary>The epoch's metrics, when recorded with it.</summary>
    public required EpochMetricsResponse? Metrics { get; init; }

    /// <summary>When it was written.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Where to download its weights (safetensors).</summary>
    public required string Url { get; init; }

    public static CheckpointResponse Example { get; } = new()
    {
        Epoch = 3,
        SizeBytes = 1_562_024,
        Sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        Metrics = EpochMetricsResponse.Example,
        CreatedAt = new DateTimeOffset(2025, 11, 26, 15, 41, 34, TimeSpan.Zero),
        Url = "/jobs/0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e/checkpoints/3",
    };

    public static CheckpointResponse From(CheckpointRecord record) => new()
    {
        Epoch = record.Epoch,
        SizeBytes = record.SizeBytes,
        Sha256 = record.Sha256,
        Metrics = record.Metrics is { } m ? EpochMetricsResponse.From(m, record.CreatedAt) : null,
        CreatedAt = record.CreatedAt,
        Url = $"{JobIds.Location(record.JobId)}/checkpoints/{record.Epoch}",
    };
}

/// <summary>A checkpoint's manifest: what it holds and how to check its files.</summary>
public sealed record CheckpointManifestResponse : IOpenApiExample<CheckpointManifestResponse>
{
    /// <summary>The manifest format's version.</summary>
    public required int FormatVersion { get; init; }

    /// <summary>The architecture the weights are for.</summary>
    public required string Architecture { get; init; }

    /// <summary>The hyperparameters of the run.</summary>
    public required Hyperparameters Hyperparameters { get; init; }

    /// <summary>The epoch it was saved after.</summary>
    public required int Epoch { get; init; }

    /// <summary>The epoch's metrics, when saved with it.</summary>
    public required EpochMetricsResponse? Metrics { get; init; }

    /// <summary>The checkpoint's files with their sizes and SHA-256s.</summary>
    public required IReadOnlyList<CheckpointFileResponse> Files { get; init; }

    /// <summary>When it was written.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    public static CheckpointManifestResponse Example { get; } = new()
    {
        FormatVersion = CheckpointManifest.CurrentFormatVersion,
        Architecture = "convnet",
        Hyperparameters = ArchitectureCatalog.ConvNet.Defaults,
        Epoch = 3,
        Metrics = EpochMetricsResponse.Example,
        Files =
        [
            new CheckpointFileResponse { Name = CheckpointFolder.ModelFileName, SizeBytes = 1_562_024, Sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" },
            new CheckpointFileResponse { Name = CheckpointFolder.OptimizerFileName, SizeBytes = 3_124_310, Sha256 = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752" },
        ],
        CreatedAt = new DateTimeOffset(2025, 11, 26, 15, 41, 34, TimeSpan.Zero),
    };

    public static CheckpointManifestResponse From(CheckpointManifest manifest) => new()
    {
        FormatVersion = manifest.FormatVersion,
        Architecture = manifest.Architecture,
        // Manifests on the volume are files no migration rewrites: one written before normalization was a
        // hyperparameter names none (its model had the architecture's default), and one could name an
        // architecture this build lacks (say what it records, not fail).
        Hyperparameters = manifest.Hyperparameters with { Normalization = CheckpointFolder.NormalizationOf(manifest) ?? NormalizationKind.None },
        Epoch = manifest.Epoch,
        Metrics = manifest.Metrics is { } m ? EpochMetricsResponse.From(m, manifest.CreatedAt) : null,
        Files = [.. manifest.Files.Select(f => new CheckpointFileResponse { Name = f.Name, SizeBytes = f.SizeBytes, Sha256 = f.Sha256 })],
        CreatedAt = manifest.CreatedAt,
    };
}

/// <summary>One file of a checkpoint.</summary>
public sealed record CheckpointFileResponse : IOpenApiExample<CheckpointFileResponse>
{
    /// <summary>model.safetensors (the weights, PyTorch key names) or optimizer.bin (TorchSharp optimizer state).</summary>
    public required string Name { get; init; }

    /// <summary>Size in bytes.</summary>
    public required long SizeBytes { get; init; }

    /// <summary>SHA-256, lowercase hex.</summary>
    public required string Sha256 { get; init; }

    public static CheckpointFileResponse Example { get; } = new()
    {
        Name = CheckpointFolder.ModelFileName, SizeBytes = 1_562_024, Sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    };
}
