using TorchSharp;
using TrainingService.Contracts.Training;
using static TorchSharp.torch;

namespace TrainingService.Models.Training;

/// <summary>Parses and resolves the <c>device</c> hyperparameter.</summary>
public static class Devices
{
    public static bool TryParse(string? text, out (DeviceType Type, int Index, bool Auto) device)
    {
        var parsed = DeviceNames.TryParse(text, out var name);
        device = (name.Cuda ? DeviceType.CUDA : DeviceType.CPU, name.Index, name.Auto);
        return parsed;
    }

    /// <summary>
    /// The device a run will use: <c>auto</c> picks the first GPU when CUDA works, else the CPU.
    /// Asking for a GPU this machine lacks is a deterministic failure, reported as such.
    /// </summary>
    public static Device Resolve(string text)
    {
        if (!TryParse(text, out var parsed))
            throw new TrainingException(TrainingFailureKind.InvalidInput, $"Unknown device '{text}'; expected auto, cpu, cuda or cuda:N.");
        if (parsed.Auto)
            return cuda.is_available() ? CUDA : CPU;
        if (parsed.Type == DeviceType.CPU)
            return CPU;
        if (!cuda.is_available())
            throw new TrainingException(TrainingFailureKind.DeviceUnavailable,
                $"Device '{text}' was requested but CUDA is not usable on this machine: {CudaAvailability.Current.Reason ?? "libtorch reports no CUDA device"}.");
        var count = cuda.device_count();
        if (parsed.Index >= count)
            throw new TrainingException(TrainingFailureKind.DeviceUnavailable,
                $"Device '{text}' was requested but this machine has {count} CUDA device(s).");
        return device(DeviceType.CUDA, parsed.Index);
    }

    /// <summary>How a device is named in metrics and logs: "cpu", "cuda:0".</summary>
    public static string Describe(Device d) => d.type == DeviceType.CUDA ? $"cuda:{Math.Max(0, d.index)}" : "cpu";
}
