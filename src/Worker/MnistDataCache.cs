using Microsoft.Extensions.Options;
using TorchSharp;
using TrainingService.Models.Data;
using TrainingService.Worker.Hosting;
using static TorchSharp.torch;

namespace TrainingService.Worker;

/// <summary>
/// The MNIST splits as tensors, loaded once per device for the life of the worker: every job on
/// that device reads the same tensors (they are never written), so a job starts without re-reading
/// and re-checking 55 MB of files. The first use downloads the files if they are missing.
/// </summary>
public sealed class MnistDataCache(IOptions<MnistOptions> options, IHttpClientFactory? httpClientFactory = null) : IDisposable
{
    private readonly Dictionary<string, (MnistTensors Train, MnistTensors Test)> byDevice = [];
    private readonly SemaphoreSlim downloadGate = new(1, 1);
    private readonly Lock loadGate = new();

    /// <summary>Set once the files have been checked (and fetched where missing): they are read only once.</summary>
    private volatile bool filesChecked;

    /// <summary>
    /// Downloads the files that are missing, where downloads are on; a job calls this before
    /// <see cref="Get"/>. Checking them means decompressing and hashing 55 MB, so it is done once.
    /// </summary>
    public async Task EnsureFilesAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Download || filesChecked)
            return;
        await downloadGate.WaitAsync(cancellationToken);
        try
        {
            if (filesChecked)
                return;
            using var http = httpClientFactory?.CreateClient(nameof(MnistDataCache)) ?? new HttpClient();
            await MnistDownloader.EnsureAsync(options.Value.DataDirectory, MnistDownloader.DefaultMirrors, http, null, cancellationToken);
            filesChecked = true;
        }
        finally
        {
            downloadGate.Release();
        }
    }

    /// <summary>
    /// The splits on <paramref name="device"/>, read from the files the first time. Call it on a
    /// training thread (<see cref="TrainingThreads"/>): normalising 60,000 images runs libtorch's
    /// parallel kernels, and every other thread that does so gets an OpenMP team of its own.
    /// </summary>
    public (MnistTensors Train, MnistTensors Test) Get(Device device)
    {
        var key = device.ToString();
        lock (loadGate)
        {
            if (byDevice.TryGetValue(key, out var cached)) return cached;
            var directory = options.Value.DataDirectory;
            var loaded = (MnistTensors.Load(directory, MnistSplit.Train, device), MnistTensors.Load(directory, MnistSplit.Test, device));
            byDevice[key] = loaded;
            return loaded;
        }
    }

    /// <summary>A view (no copy) of the first <paramref name="count"/> images, or of all; the caller disposes the view, never the cache.</summary>
    public static MnistTensors View(MnistTensors split, int? count)
    {
        var n = Math.Min(count ?? split.Count, split.Count);
        return MnistTensors.FromTensors(split.Images.narrow(0, 0, n), split.Labels.narrow(0, 0, n));
    }

    public void Dispose()
    {
        foreach (var (train, test) in byDevice.Values)
        {
            train.Dispose();
            test.Dispose();
        }
        downloadGate.Dispose();
    }
}
