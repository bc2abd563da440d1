using TrainingService.Contracts.Datasets;
using System.Collections.Concurrent;
using TrainingService.Models.Data;

namespace TrainingService.Models.Tests.Data;

/// <summary>The real MNIST archives from <see cref="TestPaths.MnistDirectory"/>, read once per test run.</summary>
internal static class RealMnist
{
    private static readonly ConcurrentDictionary<string, byte[]> gzipBytes = new();

    public static string PathOf(IdxFileInfo file) => Path.Combine(TestPaths.MnistDirectory, file.GzipName);

    /// <summary>The .gz archive of <paramref name="file"/>, exactly as stored. Callers must not modify it.</summary>
    public static byte[] Gzip(IdxFileInfo file) => gzipBytes.GetOrAdd(file.GzipName, _ => File.ReadAllBytes(PathOf(file)));

    /// <summary>A fresh copy of the decompressed content of <paramref name="file"/>.</summary>
    public static byte[] Content(IdxFileInfo file) => IdxFiles.Gunzip(Gzip(file));

    public static void CopyGzip(IdxFileInfo file, string directory) =>
        File.Copy(PathOf(file), Path.Combine(directory, file.GzipName));
}
