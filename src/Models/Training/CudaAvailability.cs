using System.Runtime.InteropServices;
using TorchSharp;

namespace TrainingService.Models.Training;

/// <summary>
/// Whether this process can train on a GPU and, when it cannot, why — in words an operator can act
/// on. libtorch only answers yes or no (<c>torch.cuda.is_available()</c>); the reason comes from
/// what is around it: which libtorch build was linked, whether the NVIDIA driver can be loaded, and
/// whether <c>CUDA_VISIBLE_DEVICES</c> hides every device.
/// </summary>
public sealed record CudaAvailability(bool Usable, int DeviceCount, string? Reason)
{
    private static readonly Lazy<CudaAvailability> current = new(Probe);

    /// <summary>This process's answer, probed once (loading the driver library is not free).</summary>
    public static CudaAvailability Current => current.Value;

    /// <summary>Asks libtorch, and when it says no, looks at what it depends on to say why.</summary>
    public static CudaAvailability Probe()
    {
        if (torch.cuda.is_available())
            return Diagnose(new CudaFacts(true, torch.cuda.device_count(), true, true, null));
        return Diagnose(new CudaFacts(false, 0, HasCudaBackend(AppContext.BaseDirectory), CanLoadDriver(),
            Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES")));
    }

    /// <summary>The verdict for a set of facts; the first missing piece, in load order, is the reason.</summary>
    public static CudaAvailability Diagnose(CudaFacts facts)
    {
        if (facts.TorchSaysAvailable)
            return new CudaAvailability(true, facts.DeviceCount, null);
        if (!facts.CudaBackendPresent)
            return new CudaAvailability(false, 0,
                "this build links the CPU-only libtorch (TorchBackend=cpu); GPU jobs need the CUDA build (the Dockerfile's worker-gpu image, or -p:TorchBackend=cuda)");
        if (!facts.DriverLoadable)
            return new CudaAvailability(false, 0,
                "the NVIDIA driver library (libcuda.so.1) cannot be loaded: this machine has no NVIDIA driver, or the container was started " +
                "without GPU access (docker run --gpus all with the NVIDIA Container Toolkit, or a nvidia.com/gpu resource in Kubernetes)");
        if (facts.VisibleDevices is { } visible && HidesEveryDevice(visible))
            return new CudaAvailability(false, 0, $"CUDA_VISIBLE_DEVICES='{visible}' hides every GPU from this process");
        return new CudaAvailability(false, 0,
            "the NVIDIA driver loads but libtorch found no usable GPU: the driver may be too old for libtorch's CUDA 12.8, or the GPU " +
            "unsupported (nvidia-smi shows the driver version and the GPUs)");
    }

    /// <summary>How a worker names its device in its start-up log and in <c>GET /workers</c>.</summary>
    public string Describe() => Usable ? $"cuda ({DeviceCount} device(s))" : "cpu";

    private static bool HidesEveryDevice(string visible) =>
        visible.Trim() is "" or "-1" or "none" or "void" or "NoDevFiles";

    /// <summary>libtorch's CUDA library ships beside TorchSharp's native library only in the CUDA build (TorchSharp-cuda-linux).</summary>
    internal static bool HasCudaBackend(string applicationDirectory)
    {
        var name = OperatingSystem.IsWindows() ? "torch_cuda.dll" : "libtorch_cuda.so";
        try
        {
            return Directory.EnumerateFiles(applicationDirectory, name, SearchOption.AllDirectories).Any();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static bool CanLoadDriver()
    {
        var name = OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1";
        if (!NativeLibrary.TryLoad(name, out var handle))
            return false;
        NativeLibrary.Free(handle);
        return true;
    }
}

/// <summary>What <see cref="CudaAvailability.Diagnose"/> decides from: libtorch's answer and the pieces it needs.</summary>
/// <param name="TorchSaysAvailable"><c>torch.cuda.is_available()</c>.</param>
/// <param name="DeviceCount"><c>torch.cuda.device_count()</c> when available.</param>
/// <param name="CudaBackendPresent">libtorch's CUDA library is among the application's files.</param>
/// <param name="DriverLoadable">The NVIDIA driver's user-space library loads.</param>
/// <param name="VisibleDevices">The value of <c>CUDA_VISIBLE_DEVICES</c>, if set.</param>
public sealed record CudaFacts(bool TorchSaysAvailable, int DeviceCount, bool CudaBackendPresent, bool DriverLoadable, string? VisibleDevices);
