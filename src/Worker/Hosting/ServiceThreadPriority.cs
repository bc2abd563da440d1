using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TrainingService.Contracts;

namespace TrainingService.Worker.Hosting;

/// <summary>
/// Training first, on the cores it shares with the service (<c>Worker__ServiceThreadsNice</c>): at
/// start, every thread of the process except the training threads gets that nice value, and so does
/// every thread they create later (Linux threads inherit their creator's), while the training threads
/// and the OpenMP teams they start keep the process's. A heartbeat, a poll or an HTTP request that
/// wakes up then runs in the gaps rather than preempting a training thread in the middle of a step,
/// which would leave the step waiting for it at libtorch's next barrier. Raising a nice value needs
/// no privilege. Linux only; elsewhere, or at 0, it does nothing.
/// </summary>
public sealed class ServiceThreadPriority(
    TrainingThreads trainingThreads, IOptions<WorkerOptions> options, ILogger<ServiceThreadPriority> logger) : IHostedService
{
    private const int PriorityProcess = 0; // PRIO_PROCESS: with a thread id, that one thread

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var nice = options.Value.ServiceThreadsNice;
        if (nice == 0 || !OperatingSystem.IsLinux())
            return Task.CompletedTask;
        // Resolving the training threads above started them, at the process's priority, before this runs.
        var threads = Directory.EnumerateDirectories("/proc/self/task")
            .Select(d => int.TryParse(Path.GetFileName(d), out var tid) ? tid : 0).Where(tid => tid > 0);
        var changed = Renice(threads, trainingThreads.ThreadIds(), nice);
        logger.LogInformation("Worker threads other than training's run at nice {Nice} ({Threads} threads now, and those they start)", nice, changed);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Gives each of <paramref name="threadIds"/> but those in <paramref name="keep"/> the nice value <paramref name="nice"/>; returns how many it changed.</summary>
    public static int Renice(IEnumerable<int> threadIds, IReadOnlySet<int> keep, int nice)
    {
        var changed = 0;
        foreach (var tid in threadIds)
        {
            if (!keep.Contains(tid) && SetPriority(PriorityProcess, tid, nice) == 0)
                changed++;
        }
        return changed;
    }

    [DllImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static extern int SetPriority(int which, int who, int priority);
}
