using TorchSharp;
using TrainingService.Contracts.Architectures;
using TrainingService.Contracts.Training;
using TrainingService.Models.Architectures;
using TrainingService.Models.Data;
using static TorchSharp.torch;

namespace TrainingService.Benchmark;

/// <summary>
/// Evaluation over the test set at several batch sizes, each against the bare forward loops it
/// could at best reach: the engine's evaluation (loss, accuracy, confusion matrix), its bare
/// forward under no_grad and under inference_mode, and PyTorch's bare no_grad forward when
/// python3-torch is here. Interleaved: each round measures every batch size and path once.
/// </summary>
internal sealed class EvaluationSweep(PyTorchProcess? torch, int rounds, int[] batchSizes)
{
    public Dictionary<string, object> Run(ArchitectureInfo info, Hyperparameters h, ImageTensors test, Device device)
    {
        torch?.Send(new { op = "setup", architecture = info.Name, batch = h.BatchSize, lr = h.LearningRate, seed = h.Seed });
        manual_seed(h.Seed);
        using var model = info.Create(h);
        model.to(device);
        var figures = batchSizes.ToDictionary(b => b, _ => (Evaluate: new List<double>(), NoGrad: new List<double>(), Inference: new List<double>(), Torch: new List<double>()));
        for (var round = 0; round < rounds; round++)
        {
            foreach (var b in round % 2 == 0 ? batchSizes : batchSizes.Reverse())
            {
                var f = figures[b];
                PyTorchComparison.Settle();
                f.Evaluate.Add(EngineLoops.Evaluate(model, test, b));
                f.NoGrad.Add(EngineLoops.Forward(model, test, b, inferenceMode: false));
                f.Inference.Add(EngineLoops.Forward(model, test, b, inferenceMode: true));
                PyTorchComparison.Settle();
                if (torch is not null) f.Torch.Add(torch.Rate(new { op = "forward", batch = b, count = test.Count }));
            }
        }
        Console.WriteLine($"   evaluation of {test.Count:N0} images by batch size (img/s, median of {rounds} round(s); load {PyTorchComparison.Load()}):");
        Console.WriteLine("     batch   engine evaluate   engine no_grad fwd   engine inference_mode fwd   PyTorch no_grad fwd");
        var rows = new List<Dictionary<string, object>>();
        foreach (var b in batchSizes)
        {
            var f = figures[b];
            double M(List<double> v) => Math.Round(PyTorchComparison.Median(v));
            Console.WriteLine($"     {b,5}   {M(f.Evaluate),15:F0}   {M(f.NoGrad),18:F0}   {M(f.Inference),25:F0}   {(torch is null ? "-" : M(f.Torch).ToString("F0")),19}");
            var row = new Dictionary<string, object> { ["batch"] = b, ["evaluate"] = M(f.Evaluate), ["noGradForward"] = M(f.NoGrad), ["inferenceModeForward"] = M(f.Inference) };
            if (torch is not null) row["pytorchForward"] = M(f.Torch);
            rows.Add(row);
        }
        return new() { ["evaluationByBatch"] = rows };
    }
}
