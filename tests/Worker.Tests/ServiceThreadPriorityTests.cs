using TrainingService.Contracts;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using TrainingService.Worker.Hosting;

namespace TrainingService.Worker.Tests;

/// <summary>
/// Worker__ServiceThreadsNice: the service's threads get the nice value, the training threads keep
/// the process's, and a thread a reniced thread starts inherits the nice value (what makes the
/// thread pool's and Hangfire's later threads yield too). Read back from /proc, on dedicated threads.
/// </summary>
public sealed class ServiceThreadPriorityTests
{
    [Fact]
    public void Service_threads_and_the_threads_they_start_yield_while_training_threads_keep_their_priority()
    {
        if (!OperatingSystem.IsLinux())
            return;
        // Relative to the process's own nice value (a test run under `nice` starts above 0), and higher, which needs no privilege.
        var processNice = NiceOf(ThreadId());
        var target = Math.Min(19, processNice + 5);
        Assert.NotEqual(processNice, target);
        var options = Microsoft.Extensions.Options.Options.Create(new WorkerOptions { Concurrency = 1, Threads = 1 });
        using var training = new TrainingThreads(options, new WorkerState(options, CudaAvailability.Diagnose(new CudaFacts(false, 0, true, false, null))));
        var trainingIds = training.ThreadIds();
        var trainingId = Assert.Single(trainingIds);
        Assert.True(trainingId > 0);

        using var reniced = new ManualResetEventSlim();
        int serviceId = 0, childId = 0, childNice = -100;
        var service = new Thread(() =>
        {
            serviceId = ThreadId();
            reniced.Wait();
            var child = new Thread(() => { childId = ThreadId(); childNice = NiceOf(childId); });
            child.Start();
            child.Join();
        });
        service.Start();
        SpinWait.SpinUntil(() => Volatile.Read(ref serviceId) != 0);

        Assert.Equal(1, ServiceThreadPriority.Renice([serviceId, trainingId], trainingIds, target));
        Assert.Equal(target, NiceOf(serviceId));
        Assert.Equal(processNice, NiceOf(trainingId));
        reniced.Set();
        service.Join();
        Assert.NotEqual(serviceId, childId);
        Assert.Equal(target, childNice);
    }

    /// <summary>The nice value in /proc/self/task/TID/stat (the 19th field; the name before it is in parentheses).</summary>
    private static int NiceOf(int tid)
    {
        var stat = File.ReadAllText($"/proc/self/task/{tid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16], System.Globalization.CultureInfo.InvariantCulture);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "gettid")]
    private static extern int ThreadId();
}
