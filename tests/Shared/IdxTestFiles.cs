using System.Buffers.Binary;
using System.IO.Compression;

namespace TrainingService.Tests.Shared;

/// <summary>
/// IDX files for tests, torch-free: headers over given bytes (valid or deliberately wrong), gzip,
/// and small datasets cut from the real MNIST files (the first N training and test images with
/// their labels, repackaged as four IDX files), as a user would upload them.
/// </summary>
public static class IdxTestFiles
{
    public const int ImagesMagic = 0x0000_0803;
    public const int LabelsMagic = 0x0000_0801;

    /// <summary>An images file whose header declares <paramref name="declaredCount"/> (default: as many as <paramref name="pixels"/> holds) images of rows × columns.</summary>
    public static byte[] Images(byte[] pixels, int rows = 28, int columns = 28, int? declaredCount = null, int magic = ImagesMagic)
    {
        var bytes = new byte[16 + pixels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), declaredCount ?? pixels.Length / (rows * columns));
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), columns);
        pixels.CopyTo(bytes, 16);
        return bytes;
    }

    /// <summary>A labels file whose header declares <paramref name="declaredCount"/> (default: as many as given) labels.</summary>
    public static byte[] Labels(byte[] labels, int? declaredCount = null, int magic = LabelsMagic)
    {
        var bytes = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), declaredCount ?? labels.Length);
        labels.CopyTo(bytes, 8);
        return bytes;
    }

    public static byte[] Gzip(byte[] content, CompressionLevel level = CompressionLevel.Fastest)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, level, leaveOpen: true))
            gzip.Write(content);
        return output.ToArray();
    }

    public static byte[] Gunzip(byte[] compressed)
    {
        using var gzip = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
        using var output = new MemoryStream();
        gzip.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>
    /// The first <paramref name="trainCount"/> training and <paramref name="testCount"/> test images of the
    /// real MNIST in <paramref name="mnistDirectory"/> (its .gz files), with their labels, as four raw IDX files
    /// keyed by their usual names.
    /// </summary>
    public static IReadOnlyDictionary<string, byte[]> MnistSubset(string mnistDirectory, int trainCount, int testCount)
    {
        byte[] Read(string name) => Gunzip(File.ReadAllBytes(Path.Combine(mnistDirectory, name + ".gz")));
        byte[] ImagesOf(string name, int count) => Images(Read(name).AsSpan(16, count * 784).ToArray());
        byte[] LabelsOf(string name, int count) => Labels(Read(name).AsSpan(8, count).ToArray());
        return new Dictionary<string, byte[]>
        {
            ["train-images-idx3-ubyte"] = ImagesOf("train-images-idx3-ubyte", trainCount),
            ["train-labels-idx1-ubyte"] = LabelsOf("train-labels-idx1-ubyte", trainCount),
            ["t10k-images-idx3-ubyte"] = ImagesOf("t10k-images-idx3-ubyte", testCount),
            ["t10k-labels-idx1-ubyte"] = LabelsOf("t10k-labels-idx1-ubyte", testCount),
        };
    }
}
