namespace TrainingService.Contracts.Datasets;

/// <summary>
/// Datasets beyond MNIST. Bound from the <c>Datasets</c> section: <c>Datasets__FashionMnistDirectory</c>
/// (workers, CLI), <c>Datasets__MaxUploadBytes</c> and <c>Datasets__MaxDatasetBytes</c> (API).
/// MNIST's own folder stays <c>Mnist__DataDirectory</c>.
/// </summary>
public sealed class DatasetOptions
{
    public const string SectionName = "Datasets";

    /// <summary>Where Fashion-MNIST's four files are: by default where Debian's <c>dataset-fashion-mnist</c> installs them.</summary>
    public string FashionMnistDirectory { get; set; } = DatasetCatalog.FashionMnist.DefaultDirectory!;

    /// <summary>The largest <c>POST /datasets</c> body, as sent (compressed or not): 128 MiB by default. Larger → 413.</summary>
    public long MaxUploadBytes { get; set; } = 128L * 1024 * 1024;

    /// <summary>
    /// The most the four files of an upload may hold once decompressed, together: 256 MiB by default
    /// (MNIST's are 55 MB). Checked against what each file's header claims before its data is read,
    /// and against what is actually decompressed, so a gzip bomb is refused after at most this much.
    /// </summary>
    public long MaxDatasetBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Why these settings cannot be used, or null.</summary>
    public string? Validate()
    {
        if (string.IsNullOrWhiteSpace(FashionMnistDirectory))
            return $"{SectionName}:{nameof(FashionMnistDirectory)} must name a folder.";
        if (MaxUploadBytes is < 1024 or > 16L * 1024 * 1024 * 1024)
            return $"{SectionName}:{nameof(MaxUploadBytes)} must be between 1 KiB and 16 GiB; it is {MaxUploadBytes}.";
        if (MaxDatasetBytes is < 1024 or > 8L * 1024 * 1024 * 1024)
            return $"{SectionName}:{nameof(MaxDatasetBytes)} must be between 1 KiB and 8 GiB; it is {MaxDatasetBytes}.";
        return null;
    }
}
