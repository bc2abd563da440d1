using System.Security.Cryptography;
using TrainingService.Contracts;
using TrainingService.Contracts.Datasets;
using TrainingService.Tests.Shared;

namespace TrainingService.Worker.Tests;

/// <summary>
/// Jobs on datasets other than MNIST: Fashion-MNIST from Debian's package, and an upload as the API
/// stores one (decompressed files on the volume, SHA-256s in the store), whose files the worker
/// checks before training: a changed file or a deleted dataset fails the job as the user's.
/// </summary>
[Collection(nameof(WorkerCollection))]
public sealed class DatasetJobTests(WorkerFixture fixture)
{
    private async Task<JobRecord> RunAsync(JobRecord job)
    {
        await fixture.Runner().RunAsync(job.Id, CancellationToken.None);
        return (await fixture.Store.GetAsync(job.Id, CancellationToken.None))!;
    }

    [Fact]
    public async Task AJobTrainsOnFashionMnistAndItsEvalUsesTheSameTestSet()
    {
        var trained = await RunAsync(await fixture.SubmitAsync(WorkerFixture.Quick, dataset: DatasetCatalog.FashionMnistName));

        Assert.True(trained.Status == JobStatus.Succeeded, trained.Error?.Message);
        // 512 images, two epochs: well above chance (10 %, what misaligned labels would give) on Fashion-MNIST's 10,000 test images.
        Assert.InRange(trained.Result!.FinalTestAccuracy, 0.3, 1.0);
        Assert.Equal(10_000, trained.Result.ConfusionMatrix!.Sum(row => row.Sum()));

        var eval = await RunAsync(await fixture.SubmitAsync(WorkerFixture.Quick, JobKind.Eval, new EvalSource(trained.Id, "final"), dataset: DatasetCatalog.FashionMnistName));
        Assert.Equal(JobStatus.Succeeded, eval.Status);
        Assert.Equal(trained.Result.FinalTestAccuracy, eval.Result!.FinalTestAccuracy, 6);
    }

    [Fact]
    public async Task AnUploadTrainsOnItsOwnFilesAndAChangedFileFailsTheJobAsTheUsers()
    {
        var dataset = await StoreUploadAsync(trainCount: 600, testCount: 150);

        var trained = await RunAsync(await fixture.SubmitAsync(WorkerFixture.Quick with { TrainSubset = null }, dataset: dataset.JobName));

        Assert.True(trained.Status == JobStatus.Succeeded, trained.Error?.Message);
        Assert.Equal(150, trained.Result!.ConfusionMatrix!.Sum(row => row.Sum())); // its own test split, not MNIST's
        Assert.InRange(trained.Result.FinalTestAccuracy, 0.3, 1.0);

        // One pixel changed on the volume: the recorded SHA-256 no longer matches.
        var images = Path.Combine(DatasetFolder.For(fixture.Checkpoints.Root, dataset.Id), IdxFileNames.TestImages);
        var bytes = await File.ReadAllBytesAsync(images);
        bytes[16 + 400] ^= 0xff;
        await File.WriteAllBytesAsync(images, bytes);

        var tampered = await RunAsync(await fixture.SubmitAsync(WorkerFixture.Quick, dataset: dataset.JobName));
        Assert.Equal(JobStatus.Failed, tampered.Status);
        Assert.Equal(JobErrorKind.User, tampered.Error!.Kind);
        Assert.Contains("checksum mismatch", tampered.Error.Message);
        Assert.Contains(dataset.JobName, tampered.Error.Message);
        Assert.Equal(1, tampered.Attempt); // not retried
        Assert.Empty(await fixture.Epochs.GetEpochsAsync(tampered.Id, 0, CancellationToken.None)); // checked before training
    }

    [Fact]
    public async Task ADeletedUploadFailsTheJobAsTheUsers()
    {
        var job = await fixture.SubmitAsync(WorkerFixture.Quick, dataset: Guid.CreateVersion7().ToString("D"));

        var failed = await RunAsync(job);

        Assert.Equal(JobStatus.Failed, failed.Status);
        Assert.Equal(JobErrorKind.User, failed.Error!.Kind);
        Assert.Contains("no longer exists", failed.Error.Message);
    }

    /// <summary>A subset of real MNIST stored as the API stores an upload: files decompressed in the dataset's folder, SHA-256s recorded.</summary>
    private async Task<DatasetRecord> StoreUploadAsync(int trainCount, int testCount)
    {
        var id = Guid.CreateVersion7();
        var folder = DatasetFolder.For(fixture.Checkpoints.Root, id);
        Directory.CreateDirectory(folder);
        var files = IdxTestFiles.MnistSubset(WorkerFixture.MnistDirectory(), trainCount, testCount);
        foreach (var (name, content) in files)
            await File.WriteAllBytesAsync(Path.Combine(folder, name), content);
        IdxFileInfo[] infos = [.. IdxFileNames.All.Select(f => new IdxFileInfo(f.BaseName, f.Kind, f.Split,
            f.Split == DatasetSplit.Train ? trainCount : testCount, files[f.BaseName].Length, Sha256: Convert.ToHexStringLower(SHA256.HashData(files[f.BaseName]))))];
        var dataset = new DatasetRecord
        {
            Id = id, Name = "mnist subset", Geometry = ImageGeometry.Mnist, Files = infos, Digest = DatasetRecord.DigestOf(infos), CreatedAt = DateTimeOffset.UtcNow,
        };
        await fixture.Datasets.CreateDatasetAsync(dataset, CancellationToken.None);
        return dataset;
    }
}
