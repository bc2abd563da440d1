using TrainingService.Contracts.Datasets;
using System.Security.Cryptography;
using TrainingService.Models.Data;

namespace TrainingService.Models.Tests.Data;

public sealed class IdxReaderTests : IDisposable
{
    private readonly string dir = TestPaths.NewTempDirectory();

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void ReadsRawImagesAndHashesTheWholeContent()
    {
        byte[] content = IdxFiles.Images(3);
        string path = IdxFiles.Write(dir, "t10k-images-idx3-ubyte", content);

        IdxContent read = IdxReader.ReadImages(path);

        Assert.Equal(IdxFileKind.Images, read.Kind);
        Assert.Equal(3, read.Count);
        Assert.Equal(content.AsSpan(16).ToArray(), read.Data);
        Assert.Equal(content.Length, read.ContentLength);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(content)), read.Md5);
    }

    [Fact]
    public void DetectsGzipByContentNotByExtension()
    {
        byte[] content = IdxFiles.Labels(7, 0, 9);
        string gzipWithoutExtension = IdxFiles.Write(dir, "gzipped-labels", IdxFiles.Gzip(content));
        string rawWithGzExtension = IdxFiles.Write(dir, "raw-labels.gz", content);

        foreach (string path in new[] { gzipWithoutExtension, rawWithGzExtension })
        {
            IdxContent read = IdxReader.ReadLabels(path);
            Assert.Equal(new byte[] { 7, 0, 9 }, read.Data);
            Assert.Equal(Convert.ToHexStringLower(MD5.HashData(content)), read.Md5);
        }
    }

    [Fact]
    public void RejectsWrongMagicNumber()
    {
        string path = IdxFiles.Write(dir, "t10k-labels-idx1-ubyte.gz", IdxFiles.Gzip(IdxFiles.Images(1)));

        AssertFails(path, () => IdxReader.ReadLabels(path),
            "t10k-labels-idx1-ubyte.gz: wrong magic number 0x00000803, expected 0x00000801 (IDX labels)");
    }

    [Fact]
    public void RejectsTruncatedData()
    {
        byte[] full = IdxFiles.Images(3);
        string path = IdxFiles.Write(dir, "train-images-idx3-ubyte", full[..^100]);

        AssertFails(path, () => IdxReader.ReadImages(path),
            "truncated", "3 images", $"{3 * 784} bytes", $"only {3 * 784 - 100} bytes");
    }

    [Fact]
    public void RejectsTruncatedGzipArchive()
    {
        // .NET decompresses a cut-off archive without complaint; the length check must catch it.
        byte[] gzip = IdxFiles.Gzip(IdxFiles.Images(50));
        string path = IdxFiles.Write(dir, "train-images-idx3-ubyte.gz", gzip[..(gzip.Length / 2)]);

        AssertFails(path, () => IdxReader.ReadImages(path), "truncated", "gzip archive is probably incomplete");
    }

    [Fact]
    public void RejectsTruncatedHeader()
    {
        string path = IdxFiles.Write(dir, "train-images-idx3-ubyte", IdxFiles.Images(0)[..10]);

        AssertFails(path, () => IdxReader.ReadImages(path), "truncated header", "expected 16 bytes, got 10");
    }

    [Fact]
    public void RejectsEmptyFile()
    {
        string path = IdxFiles.Write(dir, "train-labels-idx1-ubyte", []);

        AssertFails(path, () => IdxReader.ReadLabels(path), "too short for an IDX header: 0 bytes");
    }

    [Fact]
    public void RejectsTrailingBytes()
    {
        byte[] content = [.. IdxFiles.Labels(1, 2, 3), 0, 0, 0, 0, 0];
        string path = IdxFiles.Write(dir, "t10k-labels-idx1-ubyte", content);

        AssertFails(path, () => IdxReader.ReadLabels(path), "5 unexpected trailing bytes", "3 bytes of data", "3 labels");
    }

    [Fact]
    public void RejectsImagesThatAreNot28By28()
    {
        string path = IdxFiles.Write(dir, "t10k-images-idx3-ubyte.gz", IdxFiles.Gzip(IdxFiles.Images(2, rows: 27)));

        AssertFails(path, () => IdxReader.ReadImages(path), "images are 27×28, expected 28×28");
    }

    [Fact]
    public void RejectsLabelOutsideZeroToNine()
    {
        string path = IdxFiles.Write(dir, "t10k-labels-idx1-ubyte", IdxFiles.Labels(3, 9, 10, 1));

        AssertFails(path, () => IdxReader.ReadLabels(path), "label 10 at index 2 is outside 0..9");
    }

    [Fact]
    public void RejectsNegativeCount()
    {
        string path = IdxFiles.Write(dir, "t10k-labels-idx1-ubyte", IdxFiles.Labels([], declaredCount: -1));

        AssertFails(path, () => IdxReader.ReadLabels(path), "negative number of labels");
    }

    [Fact]
    public void ReportsCorruptGzipAsDataError()
    {
        byte[] gzip = IdxFiles.Gzip(IdxFiles.Images(5));
        // Keep the 10-byte gzip header so the file is still recognised as gzip, then break the
        // deflate data: all-ones bits start a block of the reserved (invalid) type.
        gzip.AsSpan(10).Fill(0xFF);
        string path = IdxFiles.Write(dir, "t10k-images-idx3-ubyte.gz", gzip);

        var ex = AssertFails(path, () => IdxReader.ReadImages(path), "corrupt gzip data");
        Assert.IsType<InvalidDataException>(ex.InnerException);
    }

    private static DatasetFileException AssertFails(string path, Func<IdxContent> read, params string[] fragments)
    {
        var ex = Assert.Throws<DatasetFileException>(() => read());
        Assert.Equal(path, ex.FilePath);
        Assert.StartsWith(Path.GetFileName(path) + ": ", ex.Message);
        foreach (string fragment in fragments)
        {
            Assert.Contains(fragment, ex.Message);
        }

        return ex;
    }
}
