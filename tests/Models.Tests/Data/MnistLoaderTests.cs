using TrainingService.Contracts.Datasets;
using System.Buffers.Binary;
using TrainingService.Models.Data;

namespace TrainingService.Models.Tests.Data;

public sealed class MnistLoaderTests : IDisposable
{
    private readonly string dir = TestPaths.NewTempDirectory();

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void LoadsRealTrainingSplitWithChecksums()
    {
        RawSplit train = MnistLoader.Load(TestPaths.MnistDirectory, DatasetSplit.Train);

        Assert.Equal(60_000, train.Count);
        Assert.Equal((28, 28), (train.Rows, train.Columns));
        Assert.Equal(60_000 * 28 * 28, train.Pixels.Length);
        Assert.Equal(60_000, train.Labels.Length);
        Assert.Equal(5, train.Labels[0]);
    }

    [Fact]
    public void LoadsRealTestSplitWithChecksums()
    {
        RawSplit test = MnistLoader.Load(TestPaths.MnistDirectory, DatasetSplit.Test, verifyChecksums: true);

        Assert.Equal(10_000, test.Count);
        Assert.Equal(10_000 * 28 * 28, test.Pixels.Length);
        Assert.Equal(7, test.Labels[0]);
        // Every digit occurs; a misaligned read would not produce this.
        Assert.Equal(10, test.Labels.Distinct().Count());
    }

    [Fact]
    public void ReportsMissingFileWithTheNamesItLookedFor()
    {
        var ex = Assert.Throws<DatasetFileException>(() => MnistLoader.Load(dir, DatasetSplit.Test));

        Assert.Equal(Path.Combine(dir, "t10k-images-idx3-ubyte"), ex.FilePath);
        Assert.StartsWith("t10k-images-idx3-ubyte: not found", ex.Message);
        Assert.Contains("t10k-images-idx3-ubyte.gz and t10k-images-idx3-ubyte", ex.Message);
        Assert.Contains(dir, ex.Message);
        Assert.Contains("download", ex.Message);
    }

    [Fact]
    public void ReportsImageLabelCountMismatch()
    {
        IdxFiles.Write(dir, "t10k-images-idx3-ubyte", IdxFiles.Images(3));
        string labels = IdxFiles.Write(dir, "t10k-labels-idx1-ubyte.gz", IdxFiles.Gzip(IdxFiles.Labels(IdxFiles.CyclingLabels(2))));

        var ex = Assert.Throws<DatasetFileException>(() => MnistLoader.Load(dir, DatasetSplit.Test));

        Assert.Equal(labels, ex.FilePath);
        Assert.StartsWith("t10k-labels-idx1-ubyte.gz: 2 labels, but t10k-images-idx3-ubyte has 3 images", ex.Message);
    }

    [Fact]
    public void ReportsCountThatIsNotTheOfficialOne()
    {
        string images = IdxFiles.Write(dir, "train-images-idx3-ubyte", IdxFiles.Images(3));
        IdxFiles.Write(dir, "train-labels-idx1-ubyte", IdxFiles.Labels(IdxFiles.CyclingLabels(3)));

        var ex = Assert.Throws<DatasetFileException>(() => MnistLoader.Load(dir, DatasetSplit.Train));

        Assert.Equal(images, ex.FilePath);
        Assert.StartsWith("train-images-idx3-ubyte: 3 images, but the official training split has 60000", ex.Message);
    }

    [Fact]
    public void ReportsChecksumMismatchOfAlteredContentAndCanSkipTheCheck()
    {
        string images = WriteTestImagesWithOnePixelChanged();
        RealMnist.CopyGzip(MnistCatalog.TestLabels, dir);

        var ex = Assert.Throws<DatasetFileException>(() => MnistLoader.Load(dir, DatasetSplit.Test));

        Assert.Equal(images, ex.FilePath);
        Assert.StartsWith("t10k-images-idx3-ubyte: checksum mismatch", ex.Message);
        Assert.Contains(MnistCatalog.TestImages.Md5!, ex.Message);

        RawSplit unverified = MnistLoader.Load(dir, DatasetSplit.Test, verifyChecksums: false);
        Assert.Equal(10_000, unverified.Count);
    }

    [Fact]
    public void ChecksStructureBeforeChecksums()
    {
        WriteTestImagesWithOnePixelChanged();
        byte[] labels = RealMnist.Content(MnistCatalog.TestLabels)[..^1];
        BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), 9_999);
        IdxFiles.Write(dir, "t10k-labels-idx1-ubyte", labels);

        var ex = Assert.Throws<DatasetFileException>(() => MnistLoader.Load(dir, DatasetSplit.Test));

        Assert.StartsWith("t10k-labels-idx1-ubyte: 9999 labels, but t10k-images-idx3-ubyte has 10000 images", ex.Message);
    }

    [Fact]
    public void PrefersTheGzipFileWhenBothFormsArePresent()
    {
        // The downloader writes .gz; a stale decompressed copy next to it must not win.
        WriteTestImagesWithOnePixelChanged();
        RealMnist.CopyGzip(MnistCatalog.TestImages, dir);
        RealMnist.CopyGzip(MnistCatalog.TestLabels, dir);

        Assert.Equal(10_000, MnistLoader.Load(dir, DatasetSplit.Test).Count);
    }

    private string WriteTestImagesWithOnePixelChanged()
    {
        byte[] content = RealMnist.Content(MnistCatalog.TestImages);
        content[16 + 5_000] ^= 0x01;
        return IdxFiles.Write(dir, "t10k-images-idx3-ubyte", content);
    }
}
