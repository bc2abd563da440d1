using System.Buffers.Binary;
using System.IO.Compression;
using TrainingService.Models.Data;

namespace TrainingService.Models.Tests.Data;

/// <summary>Builds small IDX files (valid or deliberately broken) for tests.</summary>
internal static class IdxFiles
{
    /// <summary>An images file whose header says <paramref name="declaredCount"/> images and which holds <paramref name="count"/>.</summary>
    public static byte[] Images(int count, int rows = 28, int columns = 28, int? declaredCount = null, int magic = IdxReader.ImagesMagic)
    {
        var bytes = new byte[16 + count * rows * columns];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), declaredCount ?? count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), columns);
        for (int i = 16; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(i * 31);
        }

        return bytes;
    }

    public static byte[] Labels(params byte[] labels) => Labels(labels, declaredCount: null);

    public static byte[] Labels(byte[] labels, int? declaredCount, int magic = IdxReader.LabelsMagic)
    {
        var bytes = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), declaredCount ?? labels.Length);
        labels.CopyTo(bytes, 8);
        return bytes;
    }

    /// <summary><paramref name="count"/> valid labels cycling through 0..9.</summary>
    public static byte[] CyclingLabels(int count) => Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray();

    public static byte[] Gzip(byte[] content)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(content);
        }

        return output.ToArray();
    }

    public static byte[] Gunzip(byte[] compressed)
    {
        using var gzip = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
        using var output = new MemoryStream();
        gzip.CopyTo(output);
        return output.ToArray();
    }

    public static string Write(string directory, string name, byte[] bytes)
    {
        string path = Path.Combine(directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
