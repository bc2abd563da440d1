using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;

namespace TrainingService.Models.Tests.Training;

public class HyperparameterValidatorTests
{
    [Fact]
    public void DefaultsAndPresetsAreValid()
    {
        Assert.Empty(HyperparameterValidator.Validate(new Hyperparameters()));
        Assert.Empty(HyperparameterValidator.Validate(ArchitectureCatalog.NotebookPreset));
        Assert.All(ArchitectureCatalog.All, a => Assert.Empty(HyperparameterValidator.Validate(a.Defaults)));
    }

    public static TheoryData<Hyperparameters, string> BadValues => new()
    {
        { new Hyperparameters { Epochs = 0 }, "epochs" },
        { new Hyperparameters { Epochs = 1001 }, "epochs" },
        { new Hyperparameters { BatchSize = 0 }, "batchSize" },
        { new Hyperparameters { BatchSize = 65_537 }, "batchSize" },
        { new Hyperparameters { LearningRate = double.NaN }, "learningRate" },
        { new Hyperparameters { LearningRate = double.PositiveInfinity }, "learningRate" },
        { new Hyperparameters { LearningRate = 0 }, "learningRate" },
        { new Hyperparameters { LearningRate = -0.1 }, "learningRate" },
        { new Hyperparameters { Optimizer = (OptimizerKind)17 }, "optimizer" },
        { new Hyperparameters { LrSchedule = (LearningRateSchedule)9 }, "lrSchedule" },
        { new Hyperparameters { WeightDecay = -1 }, "weightDecay" },
        { new Hyperparameters { Momentum = 1 }, "momentum" },
        { new Hyperparameters { StepEpochs = 0 }, "stepEpochs" },
        { new Hyperparameters { StepGamma = 0 }, "stepGamma" },
        { new Hyperparameters { Seed = -1 }, "seed" },
        { new Hyperparameters { Device = "gpu" }, "device" },
        { new Hyperparameters { Device = "cuda:-1" }, "device" },
        { new Hyperparameters { Device = "cuda:x" }, "device" },
        { new Hyperparameters { TrainSubset = 0 }, "trainSubset" },
        { new Hyperparameters { TrainSubset = 60_001 }, "trainSubset" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void NamesTheOffendingField(Hyperparameters hyperparameters, string field)
    {
        var errors = HyperparameterValidator.Validate(hyperparameters);

        Assert.Equal([field], errors.Keys);
        Assert.NotEmpty(errors[field][0]);
    }

    [Fact]
    public void ReportsEveryProblemAtOnce()
    {
        var errors = HyperparameterValidator.Validate(new Hyperparameters { Epochs = -1, BatchSize = -1, LearningRate = double.NaN });

        Assert.Equal(["batchSize", "epochs", "learningRate"], errors.Keys.Order());
    }

    [Fact]
    public void EnsureValidThrowsAnInvalidInputFailure()
    {
        var error = Assert.Throws<TrainingException>(() => HyperparameterChecks.EnsureValid(new Hyperparameters { Epochs = 0 }));

        Assert.Equal(TrainingFailureKind.InvalidInput, error.Kind);
        Assert.Contains("epochs", error.Message);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("auto")]
    public void CpuAndAutoResolveOnACpuOnlyMachine(string device)
    {
        Assert.Equal("cpu", Devices.Describe(Devices.Resolve(device)));
    }

    [Fact]
    public void CudaOnACpuOnlyMachineIsADeviceFailure()
    {
        if (TorchSharp.torch.cuda.is_available())
        {
            Assert.Equal("cuda:0", Devices.Describe(Devices.Resolve("cuda:0")));
            return;
        }

        var error = Assert.Throws<TrainingException>(() => Devices.Resolve("cuda:0"));

        Assert.Equal(TrainingFailureKind.DeviceUnavailable, error.Kind);
        Assert.Contains("CUDA is not usable", error.Message);
    }
}
