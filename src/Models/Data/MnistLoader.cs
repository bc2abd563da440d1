namespace TrainingService.Models.Data;

/// <summary>Loads an MNIST split from a folder holding the official files.</summary>
public static class MnistLoader
{
    /// <summary>
    /// Loads <paramref name="split"/> from <paramref name="directory"/>, where each file may be
    /// stored as <c>&lt;name&gt;.gz</c> or decompressed as <c>&lt;name&gt;</c>.
    /// </summary>
    /// <param name="verifyChecksums">
    /// Compare each file's content with the published MD5. It costs next to nothing (the hash is
    /// computed while reading); turning it off is only for deliberately modified copies.
    /// </param>
    /// <exception cref="MnistDataException">
    /// A file is missing or malformed, the two files disagree, the counts are not the official
    /// ones, or (with <paramref name="verifyChecksums"/>) the content is not the official content.
    /// </exception>
    public static MnistRawSplit Load(string directory, MnistSplit split, bool verifyChecksums = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var (imagesFile, labelsFile) = MnistCatalog.ForSplit(split);
        string imagesPath = Locate(directory, imagesFile);
        string labelsPath = Locate(directory, labelsFile);

        IdxContent images = IdxReader.ReadImages(imagesPath);
        IdxContent labels = IdxReader.ReadLabels(labelsPath);

        // Structural problems first: they say more about what is wrong than "checksum mismatch" does.
        if (images.Count != labels.Count)
        {
            throw new MnistDataException(labelsPath,
                $"{labels.Count} labels, but {Path.GetFileName(imagesPath)} has {images.Count} images; " +
                "the images and labels of a split must pair up one to one");
        }

        CheckOfficialCount(imagesPath, imagesFile, images);
        CheckOfficialCount(labelsPath, labelsFile, labels);

        if (verifyChecksums)
        {
            CheckChecksum(imagesPath, imagesFile, images);
            CheckChecksum(labelsPath, labelsFile, labels);
        }

        return new MnistRawSplit(images.Data, labels.Data, images.Count);
    }

    /// <summary>
    /// The names <paramref name="file"/> may be stored under, in order of preference. The .gz
    /// comes first because that is what the downloader writes: if an invalid decompressed copy
    /// is lying around, a fresh download then takes precedence over it.
    /// </summary>
    internal static IReadOnlyList<string> CandidateNames(MnistFile file) => [file.GzipName, file.BaseName];

    /// <summary>The path <paramref name="file"/> would be loaded from, or null if it is not there.</summary>
    internal static string? FindFile(string directory, MnistFile file) =>
        CandidateNames(file).Select(name => Path.Combine(directory, name)).FirstOrDefault(File.Exists);

    private static string Locate(string directory, MnistFile file) =>
        FindFile(directory, file) ?? throw new MnistDataException(Path.Combine(directory, file.BaseName),
            $"not found in '{directory}' (looked for {string.Join(" and ", CandidateNames(file))}); " +
            $"MnistDownloader.EnsureAsync can download the MNIST files into that folder");

    private static void CheckOfficialCount(string path, MnistFile expected, IdxContent content)
    {
        if (content.Count != expected.Count)
        {
            string noun = expected.Kind == MnistFileKind.Images ? "images" : "labels";
            string split = expected.Split == MnistSplit.Train ? "training" : "test";
            throw new MnistDataException(path,
                $"{content.Count} {noun}, but the official {split} split has {expected.Count}");
        }
    }

    private static void CheckChecksum(string path, MnistFile expected, IdxContent content)
    {
        if (!string.Equals(content.Md5, expected.Md5, StringComparison.Ordinal))
        {
            throw new MnistDataException(path,
                $"checksum mismatch: the MD5 of the decompressed content is {content.Md5}, expected {expected.Md5}; " +
                "the file is damaged or is not the official MNIST file (delete it and download it again)");
        }
    }
}
