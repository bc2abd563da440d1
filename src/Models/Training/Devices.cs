using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace TrainingService.Models.Training;

/// <summary>Parses and resolves the <c>device</c> hyperparameter.</summary>
public static class Devices
{
    public static bool TryParse(string? text, out (DeviceType Type, int Index, bool Auto) device)
    {
        device = default;
        switch (text)
        {
            case "auto": device = (DeviceType.CPU, -1, true); return true;
            case "cpu": device = (DeviceType.CPU, -1, false); return true;
            case "cuda": device = (DeviceType.CUDA, 0, false); return true;
        }
        if (text is not null && text.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < 1024)
        {
            device = (DeviceType.CUDA, index, false);
            return true;
        }
        return false;
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
