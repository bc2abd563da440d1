using TorchSharp;
using TrainingService.Contracts.Architectures;
using TrainingService.Contracts.Training;
using TrainingService.Models.Architectures;
using TrainingService.Models.Data;
using TrainingService.Models.Training;
using static TorchSharp.torch;

namespace TrainingService.Benchmark;

/// <summary>
/// The engine side by side with PyTorch on one architecture, in rounds that take turns (the order
/// flips every round): training — the engine, PyTorch's tensor-resident loop, the notebook's
/// DataLoader loop — then evaluation over the 10,000 test images — the engine's, PyTorch's bare
/// forward and the notebook's evaluation loop — and a large matrix product through libtorch, the
/// achievable peak of the same threads in the same minute. Ratios are taken round by round and
/// their median reported, so a minute when the machine is slow slows both sides.
/// </summary>
internal sealed class PyTorchComparison(PyTorchProcess torch, int rounds, int steps)
{
    public Dictionary<string, object> Run(ArchitectureInfo info, Hyperparameters h, ImageTensors train, ImageTensors test, Device device)
    {
        var batch = h.BatchSize;
        torch.Send(new { op = "setup", architecture = info.Name, batch, lr = h.LearningRate, seed = h.Seed });
        using var smallTest = ImageTensors.FromTensors(test.Images.narrow(0, 0, Math.Min(1000, test.Count)), test.Labels.narrow(0, 0, Math.Min(1000, test.Count)));
        manual_seed(h.Seed);
        using var evalModel = info.Create(h);
        evalModel.to(device);
        long multiplyAdds;
        using (var counted = info.Create(h)) multiplyAdds = FlopCounter.ForwardMultiplyAddsPerImage(counted);

        var engine = new List<double>(); var resident = new List<double>(); var notebook = new List<double>();
        var engineEval = new List<double>(); var forward = new List<double>(); var notebookEval = new List<double>();
        var peak = new List<double>(); var torchPeak = new List<double>();
        Console.WriteLine($"   side by side, {rounds} round(s) of {steps} training steps each (each after 5 untimed):");
        for (var round = 0; round < rounds; round++)
        {
            var offset = round * (steps + 5) * batch % Math.Max(1, train.Count - (steps + 5) * batch);
            Action[] training =
            [
                () => engine.Add(EngineLoops.Train(info, h, train, smallTest, device, 5, steps, offset)),
                () => resident.Add(torch.Rate(new { op = "resident_train", steps, warmup = 5 })),
                () => notebook.Add(torch.Rate(new { op = "notebook_train", steps, warmup = 5 })),
            ];
            Action[] evaluation =
            [
                () => engineEval.Add(EngineLoops.Evaluate(evalModel, test, TrainingEngine.EvaluationBatchSize)),
                () => forward.Add(torch.Rate(new { op = "forward", batch, count = test.Count })),
                () => notebookEval.Add(torch.Rate(new { op = "notebook_eval", batch, count = test.Count })),
                () => { peak.Add(EngineLoops.MatmulGflops()); torchPeak.Add(torch.Send(new { op = "matmul", n = 2048, repeat = 10 })["gflops"]!.GetValue<double>()); },
            ];
            foreach (var piece in round % 2 == 0 ? training.Concat(evaluation) : training.Reverse().Concat(evaluation.Reverse()))
            {
                Settle();
                piece();
            }
            Console.WriteLine($"     round {round + 1}: train engine {engine[^1],6:F0}, PyTorch resident {resident[^1],6:F0}, notebook {notebook[^1],6:F0} img/s; "
                + $"eval engine {engineEval[^1],6:F0}, PyTorch forward {forward[^1],6:F0}, notebook eval {notebookEval[^1],6:F0} img/s; "
                + $"matmul libtorch {peak[^1]:F0}, PyTorch {torchPeak[^1]:F0} GFLOP/s (load {Load()})");
        }

        double Ratio(List<double> a, List<double> b) => Median(a.Zip(b, (x, y) => x / y));
        // fwd + bwd ≈ 3 × the forward's multiply-adds (the backward computes the gradients of both the inputs and the weights), 2 FLOP each.
        var stepFlopPerImage = 3.0 * 2 * multiplyAdds;
        var stepGflops = engine.Zip(engine, (x, _) => x * stepFlopPerImage / 1e9).ToList();
        var result = new Dictionary<string, object>
        {
            ["engineTrainImagesPerSecond"] = Math.Round(Median(engine)),
            ["pytorchResidentTrainImagesPerSecond"] = Math.Round(Median(resident)),
            ["pytorchNotebookTrainImagesPerSecond"] = Math.Round(Median(notebook)),
            ["engineToPytorchResidentTrain"] = Math.Round(Ratio(engine, resident), 2),
            ["engineToPytorchNotebookTrain"] = Math.Round(Ratio(engine, notebook), 2),
            ["engineEvalImagesPerSecond"] = Math.Round(Median(engineEval)),
            ["pytorchForwardImagesPerSecond"] = Math.Round(Median(forward)),
            ["pytorchNotebookEvalImagesPerSecond"] = Math.Round(Median(notebookEval)),
            ["engineEvalToPytorchForward"] = Math.Round(Ratio(engineEval, forward), 2),
            ["engineEvalToPytorchNotebookEval"] = Math.Round(Ratio(engineEval, notebookEval), 2),
            ["engineEvalToTrain"] = Math.Round(Ratio(engineEval, engine), 2),
            ["pytorchForwardToResidentTrain"] = Math.Round(Ratio(forward, resident), 2),
            ["forwardMultiplyAddsPerImage"] = multiplyAdds,
            ["trainStepMflopPerImage"] = Math.Round(stepFlopPerImage / 1e6, 1),
            ["engineTrainGflops"] = Math.Round(Median(stepGflops), 1),
            ["matmulPeakGflops"] = Math.Round(Median(peak), 1),
            ["pytorchMatmulGflops"] = Math.Round(Median(torchPeak), 1),
            ["trainFractionOfPeak"] = Math.Round(Ratio(stepGflops, peak), 3),
        };
        Console.WriteLine($"   engine ÷ PyTorch (median of rounds): train × {result["engineToPytorchResidentTrain"]} against the tensor-resident loop, × {result["engineToPytorchNotebookTrain"]} against the notebook's; "
            + $"eval × {result["engineEvalToPytorchForward"]} against PyTorch's bare forward (batch {batch}), × {result["engineEvalToPytorchNotebookEval"]} against the notebook's evaluation");
        Console.WriteLine($"   evaluation ÷ training: engine × {result["engineEvalToTrain"]}, PyTorch (forward ÷ resident loop) × {result["pytorchForwardToResidentTrain"]}");
        Console.WriteLine($"   FLOP: {multiplyAdds / 1e6:F2} M multiply-adds per image forward, {stepFlopPerImage / 1e6:F1} MFLOP per image per training step; "
            + $"engine trains at {result["engineTrainGflops"]} GFLOP/s = {result["trainFractionOfPeak"]:P0} of the {result["matmulPeakGflops"]} GFLOP/s a 2048² matmul reaches through libtorch on the same threads");
        return result;
    }

    /// <summary>
    /// A pause between timed pieces: the side that just finished still has threads spinning
    /// (OpenBLAS's wait up to 2^28 cycles, about 0.1 s here, before they sleep; OpenMP's a few ms),
    /// and they would take cores from whatever is timed next.
    /// </summary>
    public static void Settle() => Thread.Sleep(300);

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
}
