using System.Runtime.InteropServices;

namespace TrainingService.Worker.Hosting;

/// <summary>
/// How libtorch's OpenMP threads wait for each other at the end of a parallel region, in a worker.
/// GNU OpenMP (the libgomp libtorch ships) spins for about 3 ms before it sleeps as long as the
/// process has no more OpenMP threads than cores: right for a program that has the machine to
/// itself, wrong for a worker, whose training threads take every core while its own threads
/// (heartbeats, progress, the queue, the embedded API's requests) keep waking up, preempt a
/// spinning thread or the one it is waiting for, and leave both stalled for a time slice. So a
/// worker spins briefly — libgomp's own choice once it sees more threads than cores — unless the
/// environment sets <c>GOMP_SPINCOUNT</c> or <c>OMP_WAIT_POLICY</c>. On 2 cores, with the long spin
/// every round of the overhead benchmark ran a one-epoch convnet job 11-16 % behind the engine
/// alone; with the short one the rounds spread from -5 % to +36 % around medians of 4-11 %
/// (docs/benchmarks.md).
/// </summary>
public static class OpenMpDefaults
{
    public const string SpinCountVariable = "GOMP_SPINCOUNT";

    /// <summary>libgomp's spin count for a process with more OpenMP threads than cores.</summary>
    public const string WorkerSpinCount = "100";

    /// <summary>
    /// Sets the worker's spin count where the environment has none. libgomp reads its environment
    /// once, when libtorch is loaded: this must run before anything touches TorchSharp.
    /// </summary>
    public static void Apply()
    {
        if (!OperatingSystem.IsLinux()
            || Environment.GetEnvironmentVariable(SpinCountVariable) is not null
            || Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null)
            return;
        // .NET keeps a copy of the environment of its own: setenv puts the value where libgomp's getenv reads it.
        _ = SetEnvironmentVariable(SpinCountVariable, WorkerSpinCount, overwrite: 0);
    }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnvironmentVariable(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);
}
