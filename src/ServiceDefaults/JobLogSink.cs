using System.Text.Json;
using System.Threading.Channels;
using Serilog.Core;
using Serilog.Events;
using TrainingService.Contracts;

namespace TrainingService.ServiceDefaults;

/// <summary>
/// Copies every log event that carries a <c>JobId</c> into that job's log in the store, batched
/// on a background task, so <c>GET /jobs/{id}/logs</c> serves structured records rather than
/// text scraped from a console. Losing a log line to a full buffer or a database outage is
/// acceptable; blocking training on it is not.
/// </summary>
public sealed class JobLogSink : ILogEventSink, IAsyncDisposable
{
    private const int Capacity = 10_000;
    private const int BatchSize = 200;
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(500);

    private readonly Lazy<IJobLogStore> store;
    private readonly Channel<JobLogRecord> pending = Channel.CreateBounded<JobLogRecord>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly Task flushLoop;

    public JobLogSink(Func<IJobLogStore> store)
    {
        this.store = new Lazy<IJobLogStore>(store);
        flushLoop = Task.Run(FlushLoopAsync);
    }

    public void Emit(LogEvent logEvent)
    {
        if (!logEvent.Properties.TryGetValue("JobId", out var value) || value is not ScalarValue { Value: var raw }
            || !Guid.TryParse(raw?.ToString(), out var jobId))
            return;

        var properties = logEvent.Properties
            .Where(p => p.Key is not "JobId" and not "SourceContext")
            .ToDictionary(p => p.Key, p => Simplify(p.Value));
        pending.Writer.TryWrite(new JobLogRecord(0, jobId, logEvent.Timestamp.ToUniversalTime(), logEvent.Level.ToString(),
            logEvent.RenderMessage(), properties.Count == 0 ? null : JsonSerializer.Serialize(properties)));
    }

    private static object? Simplify(LogEventPropertyValue value) => value switch
    {
        ScalarValue scalar => scalar.Value is double d && !double.IsFinite(d) ? d.ToString() : scalar.Value,
        _ => value.ToString(),
    };

    private async Task FlushLoopAsync()
    {
        var batch = new List<JobLogRecord>(BatchSize);
        while (await pending.Reader.WaitToReadAsync())
        {
            while (batch.Count < BatchSize && pending.Reader.TryRead(out var record)) batch.Add(record);
            try
            {
                await store.Value.AppendLogsAsync(batch, CancellationToken.None);
            }
            catch (Exception e)
            {
                Serilog.Debugging.SelfLog.WriteLine("Job log batch of {0} dropped: {1}", batch.Count, e.Message);
            }
            batch.Clear();
            await Task.Delay(FlushInterval);
        }
    }

    public async ValueTask DisposeAsync()
    {
        pending.Writer.TryComplete();
        await flushLoop.ConfigureAwait(false);
    }
}
