using System.Buffers.Binary;
using System.Text;
using TorchSharp.PyBridge;
using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Checkpoints;
using static TorchSharp.torch;
using static TrainingService.Models.Tests.Checkpoints.CheckpointTestKit;

namespace TrainingService.Models.Tests.Checkpoints;

/// <summary>Damaged, foreign and hostile checkpoints are refused with a clear error, before the model is touched.</summary>
public sealed class CheckpointIntegrityTests : IDisposable
{
    private readonly TemporaryStore temp = new();
    private readonly string folder;
    private readonly string weightsPath;

    public CheckpointIntegrityTests()
    {
        SaveConvNet(temp.Store, 1);
        folder = temp.CheckpointFolder(1);
        weightsPath = Path.Combine(folder, CheckpointStore.ModelFileName);
    }

    public void Dispose() => temp.Dispose();

    /// <summary>Loads epoch 1 into a fresh ConvNet, asserts it fails and leaves the model as it was, and returns the message.</summary>
    private string LoadFails(string architecture = ArchitectureCatalog.ConvNetName, bool withOptimizer = false)
    {
        using var model = NewConvNet();
        using var optimizer = withOptimizer ? optim.SGD(model.parameters(), 0.1) : null;
        var before = Snapshot(model);

        var error = Assert.Throws<CheckpointException>(() => temp.Store.Load("1", architecture, model, optimizer));

        AssertSameState(before, model);
        Assert.Contains("epoch-0001", error.Message);
        return error.Message;
    }

    [Fact]
    public void AFlippedByteIsAHashMismatch()
    {
        var bytes = File.ReadAllBytes(weightsPath);
        bytes[^100] ^= 0x40;
        File.WriteAllBytes(weightsPath, bytes);

        var message = LoadFails();

        Assert.Contains("model.safetensors", message);
        Assert.Contains("hash mismatch", message);
    }

    [Fact]
    public void ATruncatedFileIsReportedAsTruncated()
    {
        using (var stream = new FileStream(weightsPath, FileMode.Open))
            stream.SetLength(stream.Length - 1000);

        var message = LoadFails();

        Assert.Contains("model.safetensors", message);
        Assert.Contains("truncated", message);
    }

    [Fact]
    public void AMissingFileIsReported()
    {
        File.Delete(Path.Combine(folder, CheckpointStore.OptimizerFileName));

        using var model = NewConvNet();
        using var optimizer = NewAdam(model);
        var error = Assert.Throws<CheckpointException>(() => temp.Store.Load("1", ArchitectureCatalog.ConvNetName, model, optimizer));
        Assert.Contains("optimizer.bin: missing", error.Message);
    }

    [Fact]
    public void AConvNetCheckpointDoesNotLoadAsResNet()
    {
        using var resnet = ArchitectureCatalog.ResNet18.Create();

        var error = Assert.Throws<CheckpointException>(() =>
            temp.Store.Load("1", ArchitectureCatalog.ResNet18Name, resnet, optimizer: null));

        Assert.Contains("architecture convnet does not match resnet18", error.Message);
    }

    [Fact]
    public void ForeignWeightsWithACorrectManifestAreCaughtByTheHeaderCheck()
    {
        // Another architecture's weights, with hashes that match: only the header check can tell.
        using (var resnet = ArchitectureCatalog.ResNet18.Create())
            resnet.save_safetensors(weightsPath);
        RehashManifest(folder);

        var message = LoadFails();

        Assert.Contains("unexpected key 'conv1.weight'", message);
    }

    [Fact]
    public void AWrongShapeUnderTheRightKeyIsNamed()
    {
        // classifier.4 with 5 outputs instead of 10: copy_ would fail half-way through the load.
        using var model = NewConvNet();
        var tensors = model.state_dict();
        tensors["classifier.4.weight"] = zeros(5, 256);
        tensors["classifier.4.bias"] = zeros(5);
        WriteSafetensors(weightsPath, tensors);
        RehashManifest(folder);

        var message = LoadFails();

        Assert.Contains("shape of 'classifier.4.weight' is [5, 256], the model has [10, 256]", message);
    }

    [Fact]
    public void ABroadcastableShapeIsRefusedToo()
    {
        // [1, 256] would broadcast silently into [10, 256] through copy_.
        using var model = NewConvNet();
        var tensors = model.state_dict();
        tensors["classifier.4.weight"] = zeros(1, 256);
        WriteSafetensors(weightsPath, tensors);
        RehashManifest(folder);

        Assert.Contains("shape of 'classifier.4.weight' is [1, 256]", LoadFails());
    }

    [Fact]
    public void AWrongDtypeIsRefused()
    {
        // float64 would be converted silently by copy_.
        using var model = NewConvNet();
        var tensors = model.state_dict();
        tensors["features.0.bias"] = zeros(32, dtype: float64);
        WriteSafetensors(weightsPath, tensors);
        RehashManifest(folder);

        Assert.Contains("dtype of 'features.0.bias' is F64, the model has F32", LoadFails());
    }

    [Fact]
    public void AMissingKeyIsNamed()
    {
        using var model = NewConvNet();
        var tensors = model.state_dict();
        tensors.Remove("classifier.1.bias");
        WriteSafetensors(weightsPath, tensors);
        RehashManifest(folder);

        Assert.Contains("missing key 'classifier.1.bias'", LoadFails());
    }

    [Fact]
    public void AHostileHeaderLengthIsRefusedBeforeAllocating()
    {
        var bytes = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1UL << 60);
        Encoding.ASCII.GetBytes("{}").CopyTo(bytes, 8);
        File.WriteAllBytes(weightsPath, bytes);
        RehashManifest(folder);

        var message = LoadFails();

        Assert.Contains("header length 1152921504606846976 exceeds the limit", message);
    }

    [Fact]
    public void AnOptimizerOfAnotherTypeIsRefusedAndTheModelIsUntouched()
    {
        var message = LoadFails(withOptimizer: true);

        Assert.Contains("optimizer.bin", message);
        Assert.Contains("Adam", message);
    }

    [Fact]
    public void AnUnknownFormatVersionIsRefused()
    {
        EditManifest(folder, json => json.Replace("\"formatVersion\": 1", "\"formatVersion\": 2", StringComparison.Ordinal));

        Assert.Contains("format version 2 is not supported", LoadFails());
    }

    [Fact]
    public void AManifestNamingAFileOutsideTheFolderIsRefused()
    {
        EditManifest(folder, json => json.Replace("\"optimizer.bin\"", "\"../../optimizer.bin\"", StringComparison.Ordinal));

        Assert.Contains("unexpected or repeated file '../../optimizer.bin'", LoadFails());
    }

    [Fact]
    public void ADamagedManifestIsReportedAndTheCheckpointIsNotListed()
    {
        EditManifest(folder, json => json[..(json.Length / 2)]);

        Assert.Contains("manifest.json: damaged", LoadFails());
        Assert.Empty(temp.Store.List());
        Assert.Throws<CheckpointException>(() => temp.Store.Resolve("1"));
    }

    private static void WriteSafetensors(string path, Dictionary<string, Tensor> tensors)
    {
        using var stream = File.Create(path);
        Safetensors.SaveStateDict(stream, tensors);
    }
}
