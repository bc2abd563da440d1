using TrainingService.Contracts.Datasets;

namespace TrainingService.Models.Data;

/// <summary>
/// Loads a split of an IDX dataset — MNIST, Fashion-MNIST or an upload, as a
/// <see cref="DatasetInfo"/> describes it — from a folder holding its files, and checks it against
/// that description: the geometry, the counts, and the digest each file carries (the published MD5
/// of a built-in, the SHA-256 recorded at upload).
/// </summary>
public static class DatasetLoader
{
    /// <summary>
    /// Loads <paramref name="split"/> of <paramref name="dataset"/> from <paramref name="directory"/>,
    /// where each file may be stored as <c>&lt;name&gt;.gz</c> or decompressed as <c>&lt;name&gt;</c>.
    /// </summary>
    /// <param name="verifyDigests">
    /// Compare each file's content with its digest. It costs next to nothing (the hashes are
    /// computed while reading); turning it off is only for deliberately modified copies.
    /// </param>
    /// <exception cref="DatasetFileException">
    /// A file is missing or malformed, the two files disagree, the counts are not the dataset's,
    /// or (with <paramref name="verifyDigests"/>) the content is not the dataset's content.
    /// </exception>
    public static RawSplit Load(string directory, DatasetInfo dataset, DatasetSplit split, bool verifyDigests = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(dataset);
        var imagesFile = dataset.File(split, IdxFileKind.Images);
        var labelsFile = dataset.File(split, IdxFileKind.Labels);
        string imagesPath = Locate(directory, dataset, imagesFile);
        string labelsPath = Locate(directory, dataset, labelsFile);

        IdxContent images = IdxReader.Read(imagesPath, IdxFileKind.Images, dataset.Geometry);
        IdxContent labels = IdxReader.Read(labelsPath, IdxFileKind.Labels, dataset.Geometry);

        // Structural problems first: they say more about what is wrong than "checksum mismatch" does.
        if (images.Count != labels.Count)
        {
            throw new DatasetFileException(labelsPath,
                $"{labels.Count} labels, but {Path.GetFileName(imagesPath)} has {images.Count} images; " +
                "the images and labels of a split must pair up one to one");
        }

        CheckCount(imagesPath, dataset, imagesFile, images);
        CheckCount(labelsPath, dataset, labelsFile, labels);

        if (verifyDigests)
        {
            CheckDigests(imagesPath, dataset, imagesFile, images);
            CheckDigests(labelsPath, dataset, labelsFile, labels);
        }

        return new RawSplit(images.Data, labels.Data, images.Count, dataset.Geometry);
    }

    /// <summary>
    /// The names <paramref name="file"/> may be stored under, in order of preference. The .gz
    /// comes first because that is what the downloader writes: if an invalid decompressed copy
    /// is lying around, a fresh download then takes precedence over it.
    /// </summary>
    internal static IReadOnlyList<string> CandidateNames(IdxFileInfo file) => [file.GzipName, file.BaseName];

    /// <summary>The path <paramref name="file"/> would be loaded from, or null if it is not there.</summary>
    internal static string? FindFile(string directory, IdxFileInfo file) =>
        CandidateNames(file).Select(name => Path.Combine(directory, name)).FirstOrDefault(File.Exists);

    private static string Locate(string directory, DatasetInfo dataset, IdxFileInfo file) =>
        FindFile(directory, file) ?? throw new DatasetFileException(Path.Combine(directory, file.BaseName),
            $"not found in '{directory}' (looked for {string.Join(" and ", CandidateNames(file))})" +
            (dataset.HowToGet is { } how ? $"; {dataset.Title}: {how}" : ""));

    private static void CheckCount(string path, DatasetInfo dataset, IdxFileInfo expected, IdxContent content)
    {
        if (content.Count != expected.Count)
        {
            string split = expected.Split == DatasetSplit.Train ? "training" : "test";
            string whose = dataset.BuiltIn ? "the official" : $"dataset {dataset.Name}'s";
            throw new DatasetFileException(path,
                $"{content.Count} {IdxFormat.Noun(expected.Kind)}, but {whose} {split} split has {expected.Count}");
        }
    }

    private static void CheckDigests(string path, DatasetInfo dataset, IdxFileInfo expected, IdxContent content)
    {
        if (expected.Md5 is { } md5 && !string.Equals(content.Md5, md5, StringComparison.Ordinal))
        {
            throw new DatasetFileException(path,
                $"checksum mismatch: the MD5 of the decompressed content is {content.Md5}, expected {md5}; " +
                $"the file is damaged or is not the official {dataset.Title} file (delete it and get it again)");
        }

        if (expected.Sha256 is { } sha256 && !string.Equals(content.Sha256, sha256, StringComparison.Ordinal))
        {
            throw new DatasetFileException(path,
                $"checksum mismatch: the SHA-256 of the content is {content.Sha256}, but dataset {dataset.Name} was recorded with {sha256}; " +
                "the file has changed since it was stored");
        }
    }
}
