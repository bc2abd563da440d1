using Microsoft.Extensions.Options;
using TrainingService.Contracts;
using TrainingService.Contracts.Datasets;
using TrainingService.Models.Data;
using TrainingService.Models.Training;
using TrainingService.Worker.Hosting;
using static TorchSharp.torch;

namespace TrainingService.Worker;

/// <summary>A job's dataset, found: what it is and the folder its files are in.</summary>
/// <param name="Cached">A built-in: its tensors are loaded once per device and shared. An upload is loaded for each job (and its digest checked each time).</param>
public sealed record DatasetSource(DatasetInfo Dataset, string Directory, bool Cached);

/// <summary>
/// The splits of a job's dataset as tensors. The built-ins (MNIST, Fashion-MNIST) are loaded once
/// per device for the life of the worker: every job on that device reads the same tensors (they
/// are never written), so a job starts without re-reading and re-checking 55 MB of files. An
/// uploaded dataset is read for its job alone, its files checked against the SHA-256s recorded at
/// upload every time, and freed when the job ends, so any number of uploads costs no lasting memory.
/// </summary>
public sealed class DatasetCache(
    IOptions<MnistOptions> mnistOptions,
    IOptions<DatasetOptions> datasetOptions,
    IOptions<CheckpointOptions> checkpointOptions,
    IDatasetStore datasets,
    IHttpClientFactory? httpClientFactory = null) : IDisposable
{
    private readonly Dictionary<(string Dataset, string Device), (ImageTensors Train, ImageTensors Test)> cached = [];
    private readonly SemaphoreSlim downloadGate = new(1, 1);
    private readonly Lock loadGate = new();

    /// <summary>Set once MNIST's files have been checked (and fetched where missing): they are read only once.</summary>
    private volatile bool mnistChecked;

    /// <summary>
    /// Finds <paramref name="dataset"/> (a job's <c>dataset</c>): a built-in's folder, downloading
    /// MNIST's files where they are missing and downloads are on, or an upload's record and folder.
    /// A job calls this before <see cref="Load"/>.
    /// </summary>
    /// <exception cref="TrainingException">The name is no dataset, or the upload was deleted: running the job again cannot help.</exception>
    public async Task<DatasetSource> PrepareAsync(string dataset, CancellationToken cancellationToken)
    {
        switch (dataset)
        {
            case DatasetCatalog.MnistName:
                await EnsureMnistFilesAsync(cancellationToken);
                return new DatasetSource(DatasetCatalog.Mnist, mnistOptions.Value.DataDirectory, Cached: true);
            case DatasetCatalog.FashionMnistName:
                return new DatasetSource(DatasetCatalog.FashionMnist, datasetOptions.Value.FashionMnistDirectory, Cached: true);
        }
        if (!Guid.TryParseExact(dataset, "D", out var id))
            throw new TrainingException(TrainingFailureKind.InvalidInput,
                $"The job names dataset '{dataset}', which is neither a built-in ({DatasetCatalog.Names}) nor an uploaded dataset's id.");
        var record = await datasets.GetDatasetAsync(id, cancellationToken)
            ?? throw new TrainingException(TrainingFailureKind.InvalidInput, $"Dataset {id} no longer exists: it was deleted after the job was submitted.");
        return new DatasetSource(record.ToInfo(), DatasetFolder.For(checkpointOptions.Value.Root, id), Cached: false);
    }

    /// <summary>
    /// The splits of <paramref name="source"/> on <paramref name="device"/>; dispose the answer when
    /// the job is done with them (that frees an upload's tensors and leaves a built-in's cached). Call
    /// it on a training thread (<see cref="TrainingThreads"/>): normalising 60,000 images runs
    /// libtorch's parallel kernels, and every other thread that does so gets an OpenMP team of its own.
    /// </summary>
    /// <exception cref="TrainingException">An upload's files are missing, malformed or no longer match their recorded SHA-256s.</exception>
    /// <exception cref="DatasetFileException">A built-in's files are missing or damaged: the worker's installation is at fault, so the job is retried (perhaps elsewhere).</exception>
    public LoadedDataset Load(DatasetSource source, Device device)
    {
        if (!source.Cached)
        {
            try
            {
                return new LoadedDataset(LoadSplits(source, device), owned: true);
            }
            catch (DatasetFileException e)
            {
                throw new TrainingException(TrainingFailureKind.InvalidInput,
                    $"Dataset {source.Dataset.Name} cannot be used: {e.Message}", e);
            }
        }

        var key = (source.Dataset.Name, device.ToString());
        lock (loadGate)
        {
            if (!cached.TryGetValue(key, out var splits))
                cached[key] = splits = LoadSplits(source, device);
            return new LoadedDataset(splits, owned: false);
        }
    }

    private static (ImageTensors Train, ImageTensors Test) LoadSplits(DatasetSource source, Device device)
    {
        var train = ImageTensors.Load(source.Directory, source.Dataset, DatasetSplit.Train, device);
        try
        {
            return (train, ImageTensors.Load(source.Directory, source.Dataset, DatasetSplit.Test, device));
        }
        catch
        {
            train.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Downloads the MNIST files that are missing, where downloads are on. Checking them means
    /// decompressing and hashing 55 MB, so it is done once.
    /// </summary>
    private async Task EnsureMnistFilesAsync(CancellationToken cancellationToken)
    {
        if (!mnistOptions.Value.Download || mnistChecked)
            return;
        await downloadGate.WaitAsync(cancellationToken);
        try
        {
            if (mnistChecked)
                return;
            using var http = httpClientFactory?.CreateClient(nameof(DatasetCache)) ?? new HttpClient();
            await MnistDownloader.EnsureAsync(mnistOptions.Value.DataDirectory, MnistDownloader.DefaultMirrors, http, null, cancellationToken);
            mnistChecked = true;
        }
        finally
        {
            downloadGate.Release();
        }
    }

    public void Dispose()
    {
        foreach (var (train, test) in cached.Values)
        {
            train.Dispose();
            test.Dispose();
        }
        downloadGate.Dispose();
    }
}

/// <summary>A job's hold on its dataset's splits: disposing it frees them only when the job owns them (an upload's).</summary>
public sealed class LoadedDataset((ImageTensors Train, ImageTensors Test) splits, bool owned) : IDisposable
{
    public ImageTensors Train { get; } = splits.Train;

    public ImageTensors Test { get; } = splits.Test;

    public void Dispose()
    {
        if (!owned) return;
        Train.Dispose();
        Test.Dispose();
    }
}
