namespace TrainingService.Storage;

/// <summary>
/// Group commit: writes that arrive while a batch is being committed wait for it to end and are
/// then committed together, in one transaction. A lone write goes straight through; under a burst
/// each transaction carries many, so the burst pays for a few connections, round trips and
/// commits (each a WAL flush on a durable database) instead of one of each per write.
/// </summary>
/// <remarks>
/// One batch is in flight at a time. A batch that fails is retried one write at a time, so a
/// single bad write (or a deadlock with another process's batch) fails only its own caller.
/// </remarks>
internal sealed class GroupCommit<TItem, TResult>(
    Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> commitAsync, int maxBatch)
{
    private sealed record Pending(TItem Item)
    {
        // Asynchronous continuations: the committing loop must not run the callers' requests.
        public TaskCompletionSource<TResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly Lock gate = new();
    private readonly Queue<Pending> waiting = new();
    private bool committing;

    /// <summary>
    /// Commits <paramref name="item"/> with whatever else is waiting. Once submitted it is committed
    /// whatever happens to the caller, so there is no cancellation token.
    /// </summary>
    public Task<TResult> CommitAsync(TItem item)
    {
        var pending = new Pending(item);
        bool start;
        lock (gate)
        {
            waiting.Enqueue(pending);
            start = !committing;
            committing = true;
        }
        if (start)
            _ = Task.Run(CommitWaitingAsync);
        return pending.Completion.Task;
    }

    private async Task CommitWaitingAsync()
    {
        while (true)
        {
            List<Pending> batch;
            lock (gate)
            {
                if (waiting.Count == 0)
                {
                    committing = false;
                    return;
                }
                batch = new List<Pending>(Math.Min(waiting.Count, maxBatch));
                while (batch.Count < maxBatch && waiting.TryDequeue(out var next))
                    batch.Add(next);
            }
            try
            {
                var results = await commitAsync([.. batch.Select(p => p.Item)], CancellationToken.None);
                for (var i = 0; i < batch.Count; i++)
                    batch[i].Completion.TrySetResult(results[i]);
            }
            catch (Exception) when (batch.Count > 1)
            {
                foreach (var pending in batch)
                    await CommitAloneAsync(pending);
            }
            catch (Exception e)
            {
                batch[0].Completion.TrySetException(e);
            }
        }
    }

    private async Task CommitAloneAsync(Pending pending)
    {
        try
        {
            pending.Completion.TrySetResult((await commitAsync([pending.Item], CancellationToken.None))[0]);
        }
        catch (Exception e)
        {
            pending.Completion.TrySetException(e);
        }
    }
}
