using System.Collections.Concurrent;
using System.Diagnostics;
using TrainingService.Contracts.Telemetry;

namespace TrainingService.Worker.Tests;

/// <summary>A job's attempt and each of its epochs are spans in the trace its submission started.</summary>
[Collection(nameof(WorkerCollection))]
public sealed class TracingTests(WorkerFixture fixture)
{
    [Fact]
    public async Task TheAttemptAndEachEpochAreSpansInTheSubmissionsTrace()
    {
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == JobTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);
        const string traceId = "0af7651916cd43dd8448eb211c80319c";
        var job = await fixture.SubmitAsync(WorkerFixture.Quick, traceParent: $"00-{traceId}-b7ad6b7169203331-01");

        await fixture.Runner().RunAsync(job.Id, CancellationToken.None);

        var ofJob = spans.Where(s => s.GetTagItem("trainingservice.job.id") as string == job.Id.ToString()).ToList();
        var attempt = Assert.Single(ofJob, s => s.OperationName == "job.attempt");
        Assert.Equal(traceId, attempt.TraceId.ToHexString());
        Assert.Equal("b7ad6b7169203331", attempt.ParentSpanId.ToHexString());
        var epochs = ofJob.Where(s => s.OperationName == "job.epoch").OrderBy(s => (int)s.GetTagItem("trainingservice.epoch")!).ToList();
        Assert.Equal([1, 2], epochs.Select(s => (int)s.GetTagItem("trainingservice.epoch")!));
        Assert.All(epochs, e => Assert.Equal((traceId, attempt.SpanId), (e.TraceId.ToHexString(), e.ParentSpanId)));
        Assert.All(epochs, e => Assert.True(e.Duration > TimeSpan.Zero));
    }
}
