using System.Reflection;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;
using TrainingService.Api.Infrastructure;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Api.Jobs;
using TrainingService.Contracts;

namespace TrainingService.Api.Metrics;

/// <summary>
/// A job's metrics as Server-Sent Events: the epochs already recorded, then each new one as it is
/// recorded, <c>progress</c> events while the job runs, keep-alive comments through silences, and
/// a final <c>end</c> event carrying the job once it has finished. Fed by the job's shared poller
/// (<see cref="JobWatchHub"/>), never by a poller of its own.
/// </summary>
public sealed class MetricsStreamResult(Guid jobId, long resumeAfterEpoch, JobWatchHub hub, TimeSpan keepAlive) : IResult, IEndpointMetadataProvider
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var services = httpContext.RequestServices;
        var json = services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        // Open streams must not hold up a shutdown until its timeout: end them when it starts.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(
            httpContext.RequestAborted, services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
        var cancellationToken = stop.Token;

        using var subscription = hub.Subscribe(jobId);
        try
        {
            var events = await ServerSentEventWriter.StartAsync(httpContext, json, time, cancellationToken);
            // What this client has, by epoch: the recordedAt of the version it was sent. An epoch
            // at or below the resume point counts as delivered the first time it is seen; it is
            // sent again only if a resumed run later replaces it.
            var delivered = new Dictionary<int, DateTimeOffset>();
            JobProgress? lastProgress = null;
            long version = 0;
            while (true)
            {
                var untilKeepAlive = keepAlive - time.GetElapsedTime(events.LastWrite);
                var snapshot = untilKeepAlive > TimeSpan.Zero
                    ? await subscription.WaitAsync(version, untilKeepAlive, cancellationToken)
                    : null;
                if (snapshot is null)
                {
                    await events.WriteCommentAsync("keep-alive", cancellationToken);
                    continue;
                }
                version = snapshot.Version;

                foreach (var record in snapshot.Epochs)
                {
                    var epoch = record.Metrics.Epoch;
                    if (delivered.TryGetValue(epoch, out var sentVersion))
                    {
                        if (sentVersion == record.RecordedAt)
                            continue;
                    }
                    else if (epoch <= resumeAfterEpoch)
                    {
                        delivered[epoch] = record.RecordedAt;
                        continue;
                    }
                    delivered[epoch] = record.RecordedAt;
                    await events.WriteEventAsync("epoch", epoch.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        EpochMetricsResponse.From(record), cancellationToken);
                }

                if (snapshot.Job is not { } job)
                {
                    await events.FlushAsync(cancellationToken);
                    return;
                }
                if (job.Status.IsTerminal())
                {
                    await events.WriteEventAsync("end", null, job.ToResponse(), cancellationToken);
                    await events.FlushAsync(cancellationToken);
                    return;
                }
                if (job.Progress is { } progress && progress != lastProgress)
                {
                    lastProgress = progress;
                    await events.WriteEventAsync("progress", null, progress.ToResponse(), cancellationToken);
                }
                await events.FlushAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away or the server is stopping: nothing to answer.
        }
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ResponseContentExample(StatusCodes.Status200OK, ServerSentEventWriter.ContentType, """
            retry: 2000

            event: epoch
            id: 1
            data: {"epoch":1,"trainLoss":0.2113,"trainAccuracy":0.9351,"testLoss":0.0468,"testAccuracy":0.9847,"learningRate":0.0017,"epochSeconds":29.8,"samplesPerSecond":2210.4,"recordedAt":"2025-11-26T15:40:32.0000000Z"}

            event: progress
            data: {"epoch":2,"epochs":3,"step":120,"stepsPerEpoch":469,"samplesPerSecond":8450.5,"etaSeconds":41.2,"runningLoss":0.0412,"runningAccuracy":0.9871,"updatedAt":"2025-11-26T15:41:10.0000000Z"}

            : keep-alive

            event: end
            data: {"id":"0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e","kind":"train","architecture":"convnet","status":"succeeded","...":"..."}

            """));
}
