using System.Globalization;

namespace TrainingService.Contracts.Training;

/// <summary>A <c>device</c> hyperparameter as named: <c>auto</c>, <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
/// <param name="Cuda">A GPU was named (<c>cuda</c>, <c>cuda:N</c>).</param>
/// <param name="Index">The GPU's index (0 for <c>cuda</c>); -1 for the CPU and <c>auto</c>.</param>
/// <param name="Auto">Whatever the worker has: its first GPU where CUDA works, else the CPU.</param>
public readonly record struct DeviceName(bool Cuda, int Index, bool Auto);

/// <summary>Parses the <c>device</c> hyperparameter without asking any library what the machine has.</summary>
public static class DeviceNames
{
    public const int MaxCudaIndex = 1023;

    public static bool TryParse(string? text, out DeviceName device)
    {
        device = default;
        switch (text)
        {
            case "auto": device = new(false, -1, true); return true;
            case "cpu": device = new(false, -1, false); return true;
            case "cuda": device = new(true, 0, false); return true;
        }
        if (text is not null && text.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index <= MaxCudaIndex)
        {
            device = new(true, index, false);
            return true;
        }
        return false;
    }
}
