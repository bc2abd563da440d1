using TrainingService.Contracts.Datasets;
using TrainingService.Models.Data;
using static TorchSharp.torch;

namespace TrainingService.Models.Tests.Training;

/// <summary>The real MNIST splits as CPU tensors, read from disk once for the whole test run.</summary>
internal static class RealData
{
    private static readonly Lazy<RawSplit> train = new(() => MnistLoader.Load(TestPaths.MnistDirectory, DatasetSplit.Train));
    private static readonly Lazy<RawSplit> test = new(() => MnistLoader.Load(TestPaths.MnistDirectory, DatasetSplit.Test));

    public static ImageTensors Train(int take) => ImageTensors.FromBytes(train.Value.Pixels, train.Value.Labels, CPU, take);

    public static ImageTensors Test(int take = 10_000) => ImageTensors.FromBytes(test.Value.Pixels, test.Value.Labels, CPU, take);
}
