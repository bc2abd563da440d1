namespace TrainingService.Contracts.Datasets;

/// <summary>
/// A dataset a job can train or evaluate on, built in or uploaded: its name (what a job's
/// <c>dataset</c> says), its geometry, its class names and its four files with their digests.
/// </summary>
public sealed record DatasetInfo
{
    /// <summary><c>mnist</c>, <c>fashion-mnist</c>, or an uploaded dataset's id.</summary>
    public required string Name { get; init; }

    /// <summary>A label for people: the built-in's title, or the name given on upload (else the id).</summary>
    public required string Title { get; init; }

    public required ImageGeometry Geometry { get; init; }

    /// <summary>One name per class, label 0 first.</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>The four files, in <see cref="IdxFileNames.All"/>'s order.</summary>
    public required IReadOnlyList<IdxFileInfo> Files { get; init; }

    /// <summary>True for the datasets this catalogue lists; false for uploads.</summary>
    public bool BuiltIn { get; init; }

    /// <summary>What it is and where it comes from, for a built-in.</summary>
    public string? Description { get; init; }

    /// <summary>For a built-in: the folder its files are looked for in unless configured otherwise.</summary>
    public string? DefaultDirectory { get; init; }

    /// <summary>For a built-in: what to do when its files are missing (shown in the error).</summary>
    public string? HowToGet { get; init; }

    public int TrainCount => File(DatasetSplit.Train, IdxFileKind.Images).Count;

    public int TestCount => File(DatasetSplit.Test, IdxFileKind.Images).Count;

    public IdxFileInfo File(DatasetSplit split, IdxFileKind kind) =>
        Files.Single(f => f.Split == split && f.Kind == kind);
}

/// <summary>
/// The built-in datasets, as data: the API validates a job's <c>dataset</c> and lists datasets from
/// it without loading anything; the worker loads and checks the files it describes. Both built-ins
/// are 28×28 grey images in 10 classes, 60,000 for training and 10,000 for testing.
/// </summary>
public static class DatasetCatalog
{
    public const string MnistName = "mnist";
    public const string FashionMnistName = "fashion-mnist";

    /// <summary>What a job trains on when it names no dataset.</summary>
    public const string DefaultName = MnistName;

    /// <summary>
    /// MNIST: sizes and MD5s of the decompressed content as published with the data set (and used
    /// by torchvision), so any copy can be checked whatever its compression.
    /// </summary>
    public static DatasetInfo Mnist { get; } = new()
    {
        Name = MnistName,
        Title = "MNIST",
        Description = "Handwritten digits 0–9 (LeCun, Cortes and Burges): 60,000 training and 10,000 test images.",
        Geometry = ImageGeometry.Mnist,
        ClassNames = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
        Files =
        [
            new(IdxFileNames.TrainImages, IdxFileKind.Images, DatasetSplit.Train, 60_000, 47_040_016, Md5: "6bbc9ace898e44ae57da46a324031adb"),
            new(IdxFileNames.TrainLabels, IdxFileKind.Labels, DatasetSplit.Train, 60_000, 60_008, Md5: "a25bea736e30d166cdddb491f175f624"),
            new(IdxFileNames.TestImages, IdxFileKind.Images, DatasetSplit.Test, 10_000, 7_840_016, Md5: "2646ac647ad5339dbf082846283269ea"),
            new(IdxFileNames.TestLabels, IdxFileKind.Labels, DatasetSplit.Test, 10_000, 10_008, Md5: "27ae3e4e09519cfbb04c329615203637"),
        ],
        BuiltIn = true,
        DefaultDirectory = "./data/mnist",
        HowToGet = "the worker downloads them there on first use (Mnist:Download), or `trainingservice download` does",
    };

    /// <summary>
    /// Fashion-MNIST (Zalando Research), from Debian's package <c>dataset-fashion-mnist</c>, which
    /// installs the four .gz files in <c>/usr/share/datasets/fashion-mnist</c>. Zalando publishes
    /// MD5s of its .gz archives (train images 8d4fb7e6c68d591d4c3dfef9ec88bf0d, train labels
    /// 25c81989df183df01b3e8a0aad5dffbe, test images bef4ecab320f06d8554ea6380940ec79, test labels
    /// bb300cfdad3c16e7a12a480ee83cd310); Debian's archives are recompressed (their gzip headers
    /// carry the packaging date) and so differ, but their content is Zalando's: these are the MD5s
    /// of the decompressed content of Zalando's archives, as tools that download and unpack them
    /// pin them, and Debian's files decompress to exactly these (docs/datasets.md).
    /// </summary>
    public static DatasetInfo FashionMnist { get; } = new()
    {
        Name = FashionMnistName,
        Title = "Fashion-MNIST",
        Description = "Zalando's article images in 10 clothing classes, MNIST's format and sizes: 60,000 training and 10,000 test images.",
        Geometry = ImageGeometry.Mnist,
        ClassNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
        Files =
        [
            new(IdxFileNames.TrainImages, IdxFileKind.Images, DatasetSplit.Train, 60_000, 47_040_016, Md5: "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
            new(IdxFileNames.TrainLabels, IdxFileKind.Labels, DatasetSplit.Train, 60_000, 60_008, Md5: "9018921c3c673c538a1fc5bad174d6f9"),
            new(IdxFileNames.TestImages, IdxFileKind.Images, DatasetSplit.Test, 10_000, 7_840_016, Md5: "8181f5470baa50b63fa0f6fddb340f0a"),
            new(IdxFileNames.TestLabels, IdxFileKind.Labels, DatasetSplit.Test, 10_000, 10_008, Md5: "15d484375f8d13e6eb1aabb0c3f46965"),
        ],
        BuiltIn = true,
        DefaultDirectory = "/usr/share/datasets/fashion-mnist",
        HowToGet = "install Debian's package dataset-fashion-mnist (`apt-get install dataset-fashion-mnist`; scripts/prerequisites.sh does), or set Datasets:FashionMnistDirectory to a folder holding the four files",
    };

    public static IReadOnlyList<DatasetInfo> All { get; } = [Mnist, FashionMnist];

    public static DatasetInfo? Find(string? name) =>
        All.FirstOrDefault(d => string.Equals(d.Name, name, StringComparison.Ordinal));

    /// <summary>"mnist, fashion-mnist".</summary>
    public static string Names => string.Join(", ", All.Select(d => d.Name));
}
