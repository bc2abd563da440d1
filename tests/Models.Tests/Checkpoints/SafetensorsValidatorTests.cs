using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using TorchSharp.PyBridge;
using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Checkpoints;
using static TorchSharp.torch;

namespace TrainingService.Models.Tests.Checkpoints;

public sealed class SafetensorsValidatorTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("safetensors-tests-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    /// <summary>A two-tensor model small enough to write its files by hand: w [2, 3] F32, n [] I64.</summary>
    private sealed class Tiny : nn.Module
    {
        public Tiny() : base(nameof(Tiny))
        {
            register_parameter("w", nn.Parameter(ones(2, 3)));
            register_buffer("n", tensor(7L));
        }
    }

    private const string TinyHeader =
        """{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"n":{"dtype":"I64","shape":[],"data_offsets":[24,32]}}""";

    private string Write(string header, int dataBytes = 32, ulong? declaredLength = null, string name = "t.safetensors")
    {
        var headerBytes = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + headerBytes.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)headerBytes.Length);
        headerBytes.CopyTo(bytes, 8);
        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static string Fails(string path, nn.Module model)
    {
        var error = Assert.Throws<CheckpointException>(() => SafetensorsValidator.Validate(path, model));
        Assert.StartsWith(Path.GetFileName(path) + ":", error.Message);
        return error.Message;
    }

    [Fact]
    public void AcceptsWhatPyBridgeWritesForTheSameModel()
    {
        using var model = ArchitectureCatalog.ConvNet.Create();
        var path = Path.Combine(folder, "convnet.safetensors");
        model.save_safetensors(path);

        SafetensorsValidator.Validate(path, model);
    }

    [Fact]
    public void AcceptsAHeaderAsPythonWritesIt_WithMetadataAndPadding_AndPyBridgeLoadsIt()
    {
        // The Python library adds __metadata__ and pads the header with spaces to a multiple of 8.
        using var model = new Tiny();
        var header = """{"__metadata__":{"format":"pt"},""" + TinyHeader[1..];
        header = header.PadRight((header.Length + 7) / 8 * 8);
        var path = Write(header);

        SafetensorsValidator.Validate(path, model);
        model.load_safetensors(path);
        Assert.Equal(0L, model.state_dict()["n"].item<long>());
    }

    [Fact]
    public void AHugeHeaderLengthIsRefusedWithoutAllocatingIt()
    {
        using var model = new Tiny();
        var underLimitButPastTheEnd = Write(TinyHeader, declaredLength: 10 * 1024 * 1024);
        var overLimit = Write(TinyHeader, declaredLength: 1UL << 60, name: "huge.safetensors");

        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var pastTheEnd = Fails(underLimitButPastTheEnd, model);
        var tooLarge = Fails(overLimit, model);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        Assert.Contains("truncated: header length 10485760 exceeds the", pastTheEnd);
        Assert.Contains("exceeds the limit of 16777216 bytes", tooLarge);
        Assert.True(allocated < 1024 * 1024, $"allocated {allocated} bytes");
    }

    [Theory]
    [InlineData("", 0, "header length 0 is too short")]
    [InlineData("not json at all", 32, "not valid JSON")]
    [InlineData("[1, 2, 3]", 32, "not an object")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}""", 24, "missing key 'n'")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"n":{"dtype":"I64","shape":[],"data_offsets":[24,32]},"x":{"dtype":"F32","shape":[],"data_offsets":[32,36]}}""", 36, "unexpected key 'x'")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"n":{"dtype":"I32","shape":[],"data_offsets":[24,28]}}""", 28, "dtype of 'n' is I32, the model has I64")]
    [InlineData("""{"w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]},"n":{"dtype":"I64","shape":[],"data_offsets":[24,32]}}""", 32, "shape of 'w' is [3, 2], the model has [2, 3]")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]},"n":{"dtype":"I64","shape":[],"data_offsets":[20,28]}}""", 28, "data of 'w' spans 20 bytes, dtype × shape needs 24")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"n":{"dtype":"I64","shape":[],"data_offsets":[24,32]}}""", 30, "truncated: data of 'n' ends at 32")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]},"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}""", 40, "8 bytes after the last tensor")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"n":{"dtype":"I64","shape":[],"data_offsets":[16,24]}}""", 32, "overlaps")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2,-3],"data_offsets":[0,24]},"n":{"dtype":"I64","shape":[],"data_offsets":[24,32]}}""", 32, "entry for 'w' is malformed")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[24,0]},"n":{"dtype":"I64","shape":[],"data_offsets":[24,32]}}""", 32, "entry for 'w' is malformed")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"n":{"dtype":"I64","shape":[],"data_offsets":[24,32]}}""", 32, "'w' appears more than once")]
    [InlineData("""{"__metadata__":{"format":1},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"n":{"dtype":"I64","shape":[],"data_offsets":[24,32]}}""", 32, "__metadata__ must be an object of strings")]
    [InlineData("""{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,24]},"n":{"dtype":"I64","shape":[],"data_offsets":[24,32]}}""", 32, "size of 'w' cannot be computed")]
    public void RefusesMalformedOrMismatchedFiles(string header, int dataBytes, string expected)
    {
        using var model = new Tiny();
        var path = Write(header, dataBytes);

        Assert.Contains(expected, Fails(path, model));
    }

    [Fact]
    public void ATooShortFileIsTruncated()
    {
        using var model = new Tiny();
        var path = Path.Combine(folder, "short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);

        Assert.Contains("truncated", Fails(path, model));
    }

    [Fact]
    public void ReportsSeveralProblemsAtOnceButNotHundreds()
    {
        using var model = ArchitectureCatalog.ConvNet.Create();
        var header = new JsonObject();
        for (var i = 0; i < 20; i++)
            header[$"extra.{i}"] = JsonNode.Parse("""{"dtype":"F32","shape":[1],"data_offsets":[0,4]}""");
        var path = Write(header.ToJsonString(), dataBytes: 4);

        var message = Fails(path, model);

        Assert.Contains("unexpected key 'extra.0'", message);
        Assert.Contains("and 25 more", message); // 20 unexpected + 10 missing, 5 shown
    }

    [Fact]
    public void AMissingFileIsACheckpointError()
    {
        using var model = new Tiny();

        var error = Assert.Throws<CheckpointException>(() => SafetensorsValidator.Validate(Path.Combine(folder, "absent.safetensors"), model));
        Assert.Contains("absent.safetensors: cannot be opened", error.Message);
    }
}
