using System.Security.Cryptography;
using TrainingService.Contracts.Datasets;
using TrainingService.Models.Data;

namespace TrainingService.Models.Tests.Data;

/// <summary>
/// Fashion-MNIST as Debian's dataset-fashion-mnist installs it, through the same loader and the same
/// checks as MNIST: the real files load, and a file that is not Fashion-MNIST's is refused.
/// </summary>
public sealed class FashionMnistTests : IDisposable
{
    private readonly string dir = TestPaths.NewTempDirectory();

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static readonly DatasetInfo Fashion = DatasetCatalog.FashionMnist;

    [Fact]
    public void LoadsBothRealSplitsWithTheirDigests()
    {
        RawSplit train = DatasetLoader.Load(TestPaths.FashionMnistDirectory, Fashion, DatasetSplit.Train);
        RawSplit test = DatasetLoader.Load(TestPaths.FashionMnistDirectory, Fashion, DatasetSplit.Test);

        Assert.Equal((60_000, 10_000), (train.Count, test.Count));
        Assert.Equal((28, 28), (train.Rows, train.Columns));
        Assert.Equal(60_000 * 28 * 28, train.Pixels.Length);
        // The first training image is an ankle boot and so is the first test image (Zalando's README shows them).
        Assert.Equal(9, train.Labels[0]);
        Assert.Equal(9, test.Labels[0]);
        // Balanced: every class has 6,000 training and 1,000 test images.
        Assert.All(train.Labels.CountBy(l => l), c => Assert.Equal(6_000, c.Value));
        Assert.All(test.Labels.CountBy(l => l), c => Assert.Equal(1_000, c.Value));
        Assert.Equal(10, Fashion.ClassNames.Count);
    }

    [Fact]
    public void TheContentIsZalandosThoughDebianRecompressedTheArchives()
    {
        // Zalando publishes MD5s of its .gz archives; Debian's archives differ from them (recompressed),
        // which is why the catalogue checks the decompressed content, and that content matches.
        string[] zalandoArchiveMd5s = ["8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe", "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"];
        foreach (var (file, archiveMd5) in Fashion.Files.Zip(zalandoArchiveMd5s))
        {
            string path = Path.Combine(TestPaths.FashionMnistDirectory, file.GzipName);
            string debianArchiveMd5 = Convert.ToHexStringLower(MD5.HashData(File.ReadAllBytes(path)));
            Assert.NotEqual(archiveMd5, debianArchiveMd5);

            IdxContent content = IdxReader.Read(path, file.Kind, Fashion.Geometry);
            Assert.Equal(file.Md5, content.Md5);
            Assert.Equal(file.DecompressedSize, content.ContentLength);
        }
    }

    [Fact]
    public void MnistIsNotFashionMnistThoughItHasTheSameShape()
    {
        // Same names, sizes and counts: only the digest tells them apart.
        var ex = Assert.Throws<DatasetFileException>(() => DatasetLoader.Load(TestPaths.MnistDirectory, Fashion, DatasetSplit.Test));

        Assert.StartsWith("t10k-images-idx3-ubyte.gz: checksum mismatch", ex.Message);
        Assert.Contains(Fashion.File(DatasetSplit.Test, IdxFileKind.Images).Md5!, ex.Message);
        Assert.Contains("Fashion-MNIST", ex.Message);
    }

    [Fact]
    public void AChangedLabelIsCaught()
    {
        File.Copy(Path.Combine(TestPaths.FashionMnistDirectory, "t10k-images-idx3-ubyte.gz"), Path.Combine(dir, "t10k-images-idx3-ubyte.gz"));
        byte[] labels = IdxFiles.Gunzip(File.ReadAllBytes(Path.Combine(TestPaths.FashionMnistDirectory, "t10k-labels-idx1-ubyte.gz")));
        labels[8 + 123] = (byte)((labels[8 + 123] + 1) % 10); // still a valid label: only the digest can tell
        IdxFiles.Write(dir, "t10k-labels-idx1-ubyte", labels);

        var ex = Assert.Throws<DatasetFileException>(() => DatasetLoader.Load(dir, Fashion, DatasetSplit.Test));

        Assert.StartsWith("t10k-labels-idx1-ubyte: checksum mismatch", ex.Message);
    }

    [Fact]
    public void AMissingFolderSaysHowToGetTheFiles()
    {
        var ex = Assert.Throws<DatasetFileException>(() => DatasetLoader.Load(dir, Fashion, DatasetSplit.Train));

        Assert.StartsWith("train-images-idx3-ubyte: not found", ex.Message);
        Assert.Contains("dataset-fashion-mnist", ex.Message);
    }

    [Fact]
    public void AnUploadIsCheckedAgainstItsRecordedSha256AndClassCount()
    {
        // A small dataset as the service stores an upload: decompressed files, SHA-256s recorded.
        var geometry = new ImageGeometry(28, 28, 1, 3);
        byte[] images = IdxFiles.Images(4), labels = IdxFiles.Labels(0, 1, 2, 1);
        IdxFiles.Write(dir, IdxFileNames.TestImages, images);
        IdxFiles.Write(dir, IdxFileNames.TestLabels, labels);
        DatasetInfo upload(byte[] recordedLabels, int classCount) => new()
        {
            Name = "0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e",
            Title = "upload",
            Geometry = geometry with { ClassCount = classCount },
            ClassNames = [.. Enumerable.Range(0, classCount).Select(i => $"{i}")],
            Files =
            [
                new(IdxFileNames.TrainImages, IdxFileKind.Images, DatasetSplit.Train, 4, images.Length, Sha256: Sha256(images)),
                new(IdxFileNames.TrainLabels, IdxFileKind.Labels, DatasetSplit.Train, 4, labels.Length, Sha256: Sha256(labels)),
                new(IdxFileNames.TestImages, IdxFileKind.Images, DatasetSplit.Test, 4, images.Length, Sha256: Sha256(images)),
                new(IdxFileNames.TestLabels, IdxFileKind.Labels, DatasetSplit.Test, 4, recordedLabels.Length, Sha256: Sha256(recordedLabels)),
            ],
        };

        Assert.Equal([0, 1, 2, 1], DatasetLoader.Load(dir, upload(labels, 3), DatasetSplit.Test).Labels);

        var changed = Assert.Throws<DatasetFileException>(() => DatasetLoader.Load(dir, upload(IdxFiles.Labels(0, 1, 2, 2), 3), DatasetSplit.Test));
        Assert.Contains("SHA-256", changed.Message);
        Assert.Contains("has changed since it was stored", changed.Message);

        var outOfRange = Assert.Throws<DatasetFileException>(() => DatasetLoader.Load(dir, upload(labels, 2), DatasetSplit.Test));
        Assert.Contains("label 2 at index 2 is outside 0..1", outOfRange.Message);
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
