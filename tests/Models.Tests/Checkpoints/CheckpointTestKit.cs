using System.Security.Cryptography;
using System.Text.Json;
using TorchSharp.Modules;
using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Checkpoints;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using static TorchSharp.torch;

namespace TrainingService.Models.Tests.Checkpoints;

/// <summary>A store in a fresh temporary folder, deleted afterwards.</summary>
internal sealed class TemporaryStore : IDisposable
{
    public TemporaryStore()
    {
        Folder = Path.Combine(Path.GetTempPath(), "checkpoint-tests-" + Guid.NewGuid().ToString("N"));
        Store = new CheckpointStore(Folder);
    }

    public string Folder { get; }
    public CheckpointStore Store { get; }

    public string CheckpointFolder(int epoch) => Path.Combine(Folder, CheckpointStore.LabelFor(epoch));

    /// <summary>Every hidden entry in the store: staging, trash and temporary alias files.</summary>
    public string[] HiddenEntries() =>
        Directory.Exists(Folder)
            ? [.. Directory.EnumerateFileSystemEntries(Folder, ".*").Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal)]
            : [];

    public void Dispose()
    {
        if (Directory.Exists(Folder))
            Directory.Delete(Folder, recursive: true);
    }
}

internal static class CheckpointTestKit
{
    public static Hyperparameters Hyperparameters { get; } = ArchitectureCatalog.ConvNet.Defaults with { Seed = 7, TrainSubset = 512 };

    public static EpochMetrics Metrics(int epoch) => new(epoch, 0.31, 0.91, 0.12, 0.962, 0.002, 12.5, 4800);

    public static nn.Module<Tensor, Tensor> NewConvNet() => ArchitectureCatalog.ConvNet.Create();

    public static Adam NewAdam(nn.Module model, double lr = 0.002) => optim.Adam(model.parameters(), lr: lr);

    /// <summary>Saves a fresh ConvNet, after one Adam step so the optimizer has state, as <paramref name="epoch"/>.</summary>
    public static CheckpointManifest SaveConvNet(CheckpointStore store, int epoch)
    {
        using var model = NewConvNet();
        using var optimizer = NewAdam(model);
        var (images, labels) = Batch();
        TrainStep(model, optimizer, images, labels);
        return store.Save(epoch, ArchitectureCatalog.ConvNetName, Hyperparameters, Metrics(epoch), model, optimizer);
    }

    public static (Tensor Images, Tensor Labels) Batch(int size = 8) =>
        (randn(size, 1, 28, 28), randint(0, 10, new long[] { size }, dtype: int64));

    /// <summary>
    /// One optimisation step. In eval mode, so dropout draws no random mask and two models with
    /// equal weights and optimizer state take exactly equal steps.
    /// </summary>
    public static void TrainStep(nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer, Tensor images, Tensor labels)
    {
        model.eval();
        optimizer.zero_grad();
        using var loss = nn.functional.cross_entropy(model.call(images), labels);
        loss.backward();
        optimizer.step();
    }

    /// <summary>Copies of every state-dict tensor, to compare against later.</summary>
    public static Dictionary<string, Tensor> Snapshot(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    public static void AssertSameState(IReadOnlyDictionary<string, Tensor> expected, nn.Module model)
    {
        var actual = model.state_dict();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, tensor) in expected)
            Assert.True(Identical(tensor, actual[key]), $"{key} differs");
    }

    /// <summary>
    /// PyTorch's torch.equal: same shape, dtype and values. (TorchSharp's torch.equal is
    /// element-wise, like eq, and returns a tensor.)
    /// </summary>
    public static bool Identical(Tensor a, Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();

    public static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>
    /// Recomputes the manifest's sizes and hashes from the files now in the folder, as someone
    /// replacing a file on purpose would, so that only the content checks can catch it.
    /// </summary>
    public static void RehashManifest(string folder)
    {
        var path = Path.Combine(folder, CheckpointStore.ManifestFileName);
        var manifest = JsonSerializer.Deserialize<CheckpointManifest>(File.ReadAllBytes(path), CheckpointJson.Options)!;
        var files = manifest.Files
            .Select(f => f with { SizeBytes = new FileInfo(Path.Combine(folder, f.Name)).Length, Sha256 = Sha256Of(Path.Combine(folder, f.Name)) })
            .ToList();
        File.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(manifest with { Files = files }, CheckpointJson.Options));
    }

    public static void EditManifest(string folder, Func<string, string> edit)
    {
        var path = Path.Combine(folder, CheckpointStore.ManifestFileName);
        File.WriteAllText(path, edit(File.ReadAllText(path)));
    }
}
