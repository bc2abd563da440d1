using TrainingService.Contracts.Datasets;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using TorchSharp;
using TorchSharp.PyBridge;
using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Checkpoints;
using TrainingService.Models.Data;
using TrainingService.Models.Tests.Checkpoints;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using static TorchSharp.torch;

namespace TrainingService.Models.Tests.Interop;

/// <summary>
/// Checkpoints cross to PyTorch and back, with real PyTorch: each architecture in each
/// normalization writes a checkpoint that the notebook's classes (docs/pytorch/models.py, run by
/// Debian's python3-torch) load with <c>load_state_dict(strict=True)</c> and turn into the same
/// logits for the same real test images; and a state dict PyTorch saves loads into the service's
/// model, key for key, with the same logits again.
/// </summary>
public sealed class PyTorchInteropTests
{
    /// <summary>Images per case: enough for every class, small enough to keep the test quick.</summary>
    private const int ImageCount = 32;

    /// <summary>
    /// Two libtorch builds (2.10 here, 1.13 in Debian's PyTorch) need not sum a convolution in the
    /// same order; float32 rounding then differs by about 1e-7 on logits of order 1–10. A wrong
    /// weight, a missing buffer or a transposed layout is off by whole units.
    /// </summary>
    private const float Tolerance = 1e-4f;

    // Kept out of every dispose scope: the first test to touch it may be inside one.
    private static readonly Lazy<Tensor> Images = new(() =>
        ImageTensors.Load(TestPaths.MnistDirectory, DatasetSplit.Test, CPU, take: ImageCount).Images.DetachFromDisposeScope());

    public static TheoryData<string> Architectures() =>
        [ArchitectureCatalog.ConvNetName, ArchitectureCatalog.ResNet18Name, ArchitectureCatalog.AttentionName];

    [Theory]
    [MemberData(nameof(Architectures))]
    public void EveryVariantsCheckpointLoadsIntoTheNotebooksClassesAndBackWithTheSameLogits(string name)
    {
        using var temp = new TemporaryStore();
        var architecture = ArchitectureCatalog.Get(name);
        var cases = Enum.GetValues<NormalizationKind>().Select(kind => WriteCase(temp.Folder, architecture, kind)).ToList();

        RunPyTorch(cases.Select(c => c.Folder));

        foreach (var c in cases)
        {
            var label = $"{name}, {c.Kind.ToString().ToLowerInvariant()} normalization";
            AssertSameLogits(c.ServiceLogits, ReadLogits(Path.Combine(c.Folder, "pytorch-from-service-logits.f32")),
                $"{label}: the service's checkpoint in the notebook's class");

            using var scope = NewDisposeScope();
            var model = architecture.Create(c.Kind);
            var pytorchWeights = Path.Combine(c.Folder, "pytorch.safetensors");
            // As a checkpoint is loaded: the header checked against the model (every key, dtype and
            // shape), then a strict load.
            SafetensorsValidator.Validate(pytorchWeights, model);
            model.load_safetensors(pytorchWeights, strict: true);
            model.eval();
            using (no_grad())
                AssertSameLogits(ToArray(model.call(Images.Value)), ReadLogits(Path.Combine(c.Folder, "pytorch-logits.f32")),
                    $"{label}: PyTorch's state dict in the service's model");
        }
    }

    private sealed record Case(string Folder, NormalizationKind Kind, float[] ServiceLogits);

    /// <summary>A seeded model whose BatchNorm statistics have moved, saved as a real checkpoint, with the images and its logits.</summary>
    private static Case WriteCase(string root, ArchitectureInfo architecture, NormalizationKind kind)
    {
        using var scope = NewDisposeScope();
        var folder = Path.Combine(root, $"case-{kind.ToString().ToLowerInvariant()}");
        var store = new CheckpointStore(Path.Combine(folder, "checkpoints"));
        var hyperparameters = architecture.Defaults with { Normalization = kind };
        manual_seed(21);
        var model = architecture.Create(hyperparameters);
        using (no_grad())
        {
            model.train();
            model.call(Images.Value);
            model.call(Images.Value.flip(0));
        }
        model.eval();
        store.Save(1, architecture.Name, hyperparameters, null, model, optimizer: null);
        float[] logits;
        using (no_grad())
            logits = ToArray(model.call(Images.Value));

        WriteFloats(Path.Combine(folder, "images.f32"), Images.Value.data<float>().ToArray());
        WriteFloats(Path.Combine(folder, "service-logits.f32"), logits);
        File.WriteAllText(Path.Combine(folder, "case.json"), JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["architecture"] = architecture.Name,
            ["normalization"] = kind.ToString().ToLowerInvariant(),
            ["weights"] = Path.Combine(store.StoreDirectory, CheckpointStore.LabelFor(1), CheckpointStore.ModelFileName),
        }));
        return new Case(folder, kind, logits);
    }

    private static void RunPyTorch(IEnumerable<string> caseFolders)
    {
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(RepositoryRoot, "tests", "Models.Tests", "Interop", "pytorch_interop.py"));
        start.ArgumentList.Add(Path.Combine(RepositoryRoot, "docs", "pytorch", "models.py"));
        foreach (var folder in caseFolders)
            start.ArgumentList.Add(folder);
        using var python = Process.Start(start)!;
        var output = python.StandardOutput.ReadToEndAsync();
        var errors = python.StandardError.ReadToEndAsync();
        Assert.True(python.WaitForExit(TimeSpan.FromMinutes(3)), "PyTorch did not finish within 3 minutes.");
        Assert.True(python.ExitCode == 0,
            $"{Python} {string.Join(' ', start.ArgumentList)} exited with {python.ExitCode}:\n{output.Result}\n{errors.Result}\n" +
            "(It needs Debian's python3-torch: `bash scripts/prerequisites.sh --tests` installs it, as scripts/test.sh does.)");
    }

    /// <summary>Debian's own Python, whose dist-packages hold python3-torch (a pyenv or venv python on PATH would not).</summary>
    private static string Python => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    private static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "TrainingService.sln")))
                    return dir.FullName;
            }
            throw new DirectoryNotFoundException($"TrainingService.sln not found above {AppContext.BaseDirectory}.");
        }
    }

    private static void AssertSameLogits(float[] expected, float[] actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} logits, expected {expected.Length}.");
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst <= Tolerance, $"{what}: logits differ by up to {worst:G3} (tolerance {Tolerance:G3}).");
        // The same prediction for every image, too.
        Assert.Equal(Predictions(expected), Predictions(actual));
    }

    private static int[] Predictions(float[] logits) =>
        [.. logits.Chunk(10).Select(row => Array.IndexOf(row, row.Max()))];

    private static float[] ToArray(Tensor logits) => logits.contiguous().data<float>().ToArray();

    private static void WriteFloats(string path, float[] values) =>
        File.WriteAllBytes(path, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    private static float[] ReadLogits(string path) =>
        MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();
}
