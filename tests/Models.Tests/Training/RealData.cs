using TrainingService.Models.Data;
using static TorchSharp.torch;

namespace TrainingService.Models.Tests.Training;

/// <summary>The real MNIST splits as CPU tensors, read from disk once for the whole test run.</summary>
internal static class RealData
{
    private static readonly Lazy<MnistRawSplit> train = new(() => MnistLoader.Load(TestPaths.MnistDirectory, MnistSplit.Train));
    private static readonly Lazy<MnistRawSplit> test = new(() => MnistLoader.Load(TestPaths.MnistDirectory, MnistSplit.Test));

    public static MnistTensors Train(int take) => MnistTensors.FromBytes(train.Value.Pixels, train.Value.Labels, CPU, take);

    public static MnistTensors Test(int take = 10_000) => MnistTensors.FromBytes(test.Value.Pixels, test.Value.Labels, CPU, take);
}
