using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using TrainingService.Api.Infrastructure;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Api.Jobs;
using TrainingService.Contracts;
using JsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace TrainingService.Api.Logs;

/// <summary><c>GET /jobs/{id}/logs</c>: a job's structured log, as pages of JSON or followed live.</summary>
public static class LogsEndpoints
{
    public const int MaxPage = 1000;
    public const int DefaultPage = 500;

    public static RouteGroupBuilder MapJobLogs(this RouteGroupBuilder jobs, JobWatchHub hub, JobsApiOptions options)
    {
        var handlers = new LogsHandlers(hub, options);
        jobs.MapGet("/{id}/logs", handlers.GetAsync)
            .WithName("GetJobLogs")
            .WithSummary("Read or follow a job's log")
            .WithDescription("""
                The job's log events (sequence, timestamp, level, message, structured properties) after sequence
                `after`, at most `limit` (1–1000, default 500) per page; continue with `after=nextAfter`.
                With `follow=true` the events stream as Server-Sent Events (`event: log`, `id: <sequence>`) until the
                job has finished, then `event: end` with the job; `Last-Event-ID` resumes after that sequence.
                """)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return jobs;
    }

    private sealed class LogsHandlers(JobWatchHub hub, JobsApiOptions options)
    {
        public async Task<Results<Ok<LogPageResponse>, LogStreamResult, ValidationProblem, ProblemHttpResult>> GetAsync(
            [ParameterSchema(Description = "The job's id.", Example = "0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e")] string id,
            [ParameterSchema(Type = "integer", Minimum = 0, Default = "0", Description = "Only events after this sequence.")] string? after,
            [ParameterSchema(Type = "integer", Minimum = 1, Maximum = MaxPage, Default = "500", Description = "Page size (JSON only).")] string? limit,
            [ParameterSchema(Type = "boolean", Default = "false", Description = "Stream the log as Server-Sent Events until the job has finished.")] string? follow,
            [FromHeader(Name = "Last-Event-ID")]
            [ParameterSchema(Type = "integer", Minimum = 0, Description = "When following: the sequence of the last event received.")]
            string? lastEventId,
            [FromServices] IJobStore store,
            [FromServices] IJobLogStore logStore,
            CancellationToken cancellationToken)
        {
            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            var afterSequence = Query.ParseLong("after", after, 0, 0, errors);
            var pageSize = Query.ParseInt("limit", limit, 1, MaxPage, DefaultPage, errors);
            var followed = Query.ParseBool("follow", follow, errors);
            var lastEvent = Query.ParseLong("Last-Event-ID", lastEventId?.Trim(), 0, 0, errors);
            if (!JobIds.TryParse(id, out var jobId) || await store.GetAsync(jobId, cancellationToken) is null)
                return Problems.JobNotFound(id);
            if (errors.Count > 0)
                return TypedResults.ValidationProblem(errors);

            if (followed)
                return new LogStreamResult(jobId, Math.Max(afterSequence, lastEvent), hub, options);

            var logs = await logStore.GetLogsAsync(jobId, afterSequence, pageSize, cancellationToken);
            return TypedResults.Ok(new LogPageResponse
            {
                Items = [.. logs.Select(LogRecordResponse.From)],
                NextAfter = logs.Count > 0 ? logs[^1].Sequence : afterSequence,
            });
        }
    }

    /// <summary>
    /// A followed log. Log lines are not in the shared snapshot (a job can log many, and each
    /// stream is at its own position), so each stream reads its new lines itself, one indexed
    /// query per poll interval; whether the job has finished it learns from the shared poller.
    /// </summary>
    public sealed class LogStreamResult(Guid jobId, long afterSequence, JobWatchHub hub, JobsApiOptions options) : IResult, IEndpointMetadataProvider
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var services = httpContext.RequestServices;
            var json = services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
            var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
            var store = services.GetRequiredService<IJobLogStore>();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(
                httpContext.RequestAborted, services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
            var cancellationToken = stop.Token;

            using var subscription = hub.Subscribe(jobId);
            try
            {
                var events = await ServerSentEventWriter.StartAsync(httpContext, json, time, cancellationToken);
                var position = afterSequence;
                long version = 0;
                while (true)
                {
                    var snapshot = await subscription.WaitAsync(version, options.StreamPollInterval, cancellationToken) ?? subscription.Current;
                    version = snapshot?.Version ?? version;
                    // Drain what is there now; if the job had already finished when this snapshot
                    // was taken, this drain has every line it will ever log.
                    var finished = snapshot?.Job is null ? snapshot is not null : snapshot.Job.Status.IsTerminal();
                    while (true)
                    {
                        var logs = await store.GetLogsAsync(jobId, position, MaxPage, cancellationToken);
                        foreach (var log in logs)
                            await events.WriteEventAsync("log", log.Sequence.ToString(CultureInfo.InvariantCulture), LogRecordResponse.From(log), cancellationToken);
                        if (logs.Count > 0)
                            position = logs[^1].Sequence;
                        if (logs.Count < MaxPage)
                            break;
                    }
                    if (finished)
                    {
                        if (snapshot?.Job is { } job)
                            await events.WriteEventAsync("end", null, job.ToResponse(), cancellationToken);
                        await events.FlushAsync(cancellationToken);
                        return;
                    }
                    await events.FlushAsync(cancellationToken);
                    if (time.GetElapsedTime(events.LastWrite) >= options.StreamKeepAliveInterval)
                        await events.WriteCommentAsync("keep-alive", cancellationToken);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The client went away or the server is stopping.
            }
        }

        public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
            builder.Metadata.Add(new ResponseContentExample(StatusCodes.Status200OK, ServerSentEventWriter.ContentType, """
                retry: 2000

                event: log
                id: 42
                data: {"sequence":42,"timestamp":"2025-11-26T15:40:32.0000000Z","level":"Information","message":"Epoch 1/3: test accuracy 0.9847","properties":{"epoch":1}}

                event: end
                data: {"id":"0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e","status":"succeeded","...":"..."}

                """));
    }
}
