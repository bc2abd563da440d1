using System.Text.Json;
using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Checkpoints;
using static TorchSharp.torch;
using static TrainingService.Models.Tests.Checkpoints.CheckpointTestKit;

namespace TrainingService.Models.Tests.Checkpoints;

public sealed class CheckpointRoundTripTests : IDisposable
{
    private readonly TemporaryStore temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void LoadRestoresEveryTensorAndTheOptimizerContinuesIdentically()
    {
        using var model = NewConvNet();
        using var optimizer = NewAdam(model);
        var (images, labels) = Batch();
        TrainStep(model, optimizer, images, labels);
        temp.Store.Save(1, ArchitectureCatalog.ConvNetName, Hyperparameters, Metrics(1), model, optimizer);

        using var restored = NewConvNet();
        // A different learning rate on purpose: the saved one must come back with the state.
        using var restoredOptimizer = NewAdam(restored, lr: 0.5);
        var loaded = temp.Store.Load("1", ArchitectureCatalog.ConvNetName, restored, restoredOptimizer);

        Assert.Equal("epoch-0001", loaded.Label);
        Assert.True(loaded.OptimizerStateLoaded);
        AssertSameState(Snapshot(model), restored);

        // Same weights and same Adam moments and step count ⇒ the next step is bit-for-bit the same.
        TrainStep(model, optimizer, images, labels);
        TrainStep(restored, restoredOptimizer, images, labels);
        AssertSameState(Snapshot(model), restored);
    }

    [Fact]
    public void ManifestRecordsTheRunAndEachFilesSizeAndHash()
    {
        var saved = SaveConvNet(temp.Store, 3);

        var manifest = Assert.Single(temp.Store.List());
        Assert.Equal(CheckpointManifest.CurrentFormatVersion, manifest.FormatVersion);
        Assert.Equal("convnet", manifest.Architecture);
        Assert.Equal(3, manifest.Epoch);
        Assert.Equal("epoch-0003", manifest.Label);
        Assert.Equal(Hyperparameters, manifest.Hyperparameters);
        Assert.Equal(Metrics(3), manifest.Metrics);
        Assert.Equal(TimeSpan.Zero, manifest.CreatedAt.Offset);
        Assert.InRange(manifest.CreatedAt, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow);
        Assert.Equal(saved.Files, manifest.Files);

        var folder = temp.CheckpointFolder(3);
        Assert.Equal(
            [CheckpointStore.ModelFileName, CheckpointStore.OptimizerFileName],
            manifest.Files.Select(f => f.Name));
        foreach (var file in manifest.Files)
        {
            var path = Path.Combine(folder, file.Name);
            Assert.Equal(new FileInfo(path).Length, file.SizeBytes);
            Assert.Equal(Sha256Of(path), file.Sha256);
        }
    }

    [Fact]
    public void ManifestJsonIsCamelCaseWithLowercaseEnums()
    {
        SaveConvNet(temp.Store, 1);

        var json = File.ReadAllText(Path.Combine(temp.CheckpointFolder(1), CheckpointStore.ManifestFileName));
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;

        Assert.Equal(1, root.GetProperty("formatVersion").GetInt32());
        Assert.Equal("convnet", root.GetProperty("architecture").GetString());
        Assert.Equal("adam", root.GetProperty("hyperparameters").GetProperty("optimizer").GetString());
        Assert.Equal("onecycle", root.GetProperty("hyperparameters").GetProperty("lrSchedule").GetString());
        Assert.Equal(0.962, root.GetProperty("metrics").GetProperty("testAccuracy").GetDouble());
        var file = root.GetProperty("files")[0];
        Assert.Equal("model.safetensors", file.GetProperty("name").GetString());
        Assert.True(file.GetProperty("sizeBytes").GetInt64() > 0);
        Assert.Equal(64, file.GetProperty("sha256").GetString()!.Length);
    }

    [Fact]
    public void ADivergedEpochsNaNMetricsStillSaveAndReadBack()
    {
        using var model = NewConvNet();
        var metrics = Metrics(1) with { TrainLoss = double.NaN, TestLoss = double.PositiveInfinity };

        temp.Store.Save(1, ArchitectureCatalog.ConvNetName, Hyperparameters, metrics, model, optimizer: null);

        var manifest = temp.Store.Resolve("1")!;
        Assert.True(double.IsNaN(manifest.Metrics!.TrainLoss));
        Assert.Equal(double.PositiveInfinity, manifest.Metrics.TestLoss);
    }

    [Fact]
    public void SaveLeavesTheModelOnItsDeviceAndUsable()
    {
        using var model = NewConvNet();
        using var optimizer = NewAdam(model);
        model.train();
        var devicesBefore = model.parameters().Select(p => p.device.ToString()).ToArray();
        var handlesBefore = model.parameters().Select(p => p.Handle).ToArray();
        var weightsBefore = Snapshot(model);

        temp.Store.Save(1, ArchitectureCatalog.ConvNetName, Hyperparameters, Metrics(1), model, optimizer);

        Assert.Equal(devicesBefore, model.parameters().Select(p => p.device.ToString()));
        Assert.All(model.state_dict().Values, t => Assert.Equal(TorchSharp.DeviceType.CPU, t.device_type));
        Assert.Equal(handlesBefore, model.parameters().Select(p => p.Handle));
        Assert.True(model.training);
        AssertSameState(weightsBefore, model);

        // Still trains: the optimizer's step moves the very parameters the model uses.
        var (images, labels) = Batch();
        TrainStep(model, optimizer, images, labels);
        Assert.Contains(model.state_dict(), kv => !Identical(kv.Value, weightsBefore[kv.Key]));
    }

    [Fact]
    public void ACheckpointWithoutOptimizerStateLoadsWeightsOnlyAndRefusesToResume()
    {
        using var model = NewConvNet();
        temp.Store.Save(1, ArchitectureCatalog.ConvNetName, Hyperparameters, null, model, optimizer: null);

        var manifest = temp.Store.Resolve("epoch-0001")!;
        Assert.Null(manifest.Metrics);
        Assert.Equal([CheckpointStore.ModelFileName], manifest.Files.Select(f => f.Name));

        using var restored = NewConvNet();
        var loaded = temp.Store.Load("1", ArchitectureCatalog.ConvNetName, restored, optimizer: null);
        Assert.False(loaded.OptimizerStateLoaded);
        AssertSameState(Snapshot(model), restored);

        using var optimizer = NewAdam(restored);
        var error = Assert.Throws<CheckpointException>(() => temp.Store.Load("1", ArchitectureCatalog.ConvNetName, restored, optimizer));
        Assert.Contains("no optimizer state", error.Message);
    }

    [Fact]
    public void ResNetBatchNormCountersRoundTripAsInt64()
    {
        // ResNet's num_batches_tracked buffers are the I64 entries in an otherwise F32 file.
        using var model = ArchitectureCatalog.ResNet18.Create();
        using (no_grad())
        {
            foreach (var (key, tensor) in model.state_dict().Where(kv => kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)))
                tensor.fill_(5);
        }
        temp.Store.Save(1, ArchitectureCatalog.ResNet18Name, ArchitectureCatalog.ResNet18.Defaults, null, model, optimizer: null);

        using var restored = ArchitectureCatalog.ResNet18.Create();
        temp.Store.Load("1", ArchitectureCatalog.ResNet18Name, restored, optimizer: null);

        AssertSameState(Snapshot(model), restored);
        Assert.Equal(5L, restored.state_dict()["bn1.num_batches_tracked"].item<long>());
    }
}
