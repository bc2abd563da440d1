using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using TrainingService.Worker.Hosting;
using TrainingService.Contracts;

namespace TrainingService.Worker;

/// <summary>
/// The threads jobs train on: one long-lived thread per concurrent job, reused from job to job.
/// TorchSharp's dispose scopes are per thread, so a step loop must own its thread; reusing the
/// same threads keeps what libtorch sets up per thread — the OpenMP thread team and its count,
/// the allocator's arena and warmed-up pages — instead of building it afresh for every job.
/// </summary>
public sealed class TrainingThreads : IDisposable
{
    private readonly BlockingCollection<Action> work = new();
    private readonly Thread[] threads;
    private readonly int[] threadIds;
    private readonly CountdownEvent started;

    public TrainingThreads(IOptions<WorkerOptions> options, WorkerState state)
    {
        var count = Math.Max(1, options.Value.Concurrency);
        threadIds = new int[count];
        started = new CountdownEvent(count);
        threads = [.. Enumerable.Range(0, count).Select(i => new Thread(() => Serve(i, state.Threads))
        {
            IsBackground = true,
            Name = $"training-{i}",
        })];
        foreach (var thread in threads) thread.Start();
    }

    /// <summary>The operating system's ids of the training threads (Linux: what <c>gettid</c> returns), once they have all started.</summary>
    public IReadOnlySet<int> ThreadIds()
    {
        started.Wait();
        return threadIds.ToHashSet();
    }

    /// <summary>Runs <paramref name="body"/> on a training thread and completes with its result or exception.</summary>
    public Task<T> RunAsync<T>(Func<T> body)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        work.Add(() =>
        {
            try { completion.SetResult(body()); }
            catch (Exception e) { completion.SetException(e); }
        });
        return completion.Task;
    }

    private void Serve(int index, int libtorchThreads)
    {
        threadIds[index] = OperatingSystem.IsLinux() ? GetThreadId() : 0;
        started.Signal();
        // OpenMP keeps its thread count per calling thread: set it on this one, once.
        TorchSharp.torch.set_num_threads(libtorchThreads);
        foreach (var item in work.GetConsumingEnumerable())
            item();
    }

    public void Dispose()
    {
        work.CompleteAdding();
        foreach (var thread in threads) thread.Join(TimeSpan.FromSeconds(5));
        work.Dispose();
        started.Dispose();
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "gettid")]
    private static extern int GetThreadId();
}
