using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;
using TrainingService.Api.Infrastructure;
using TrainingService.Api.Infrastructure.OpenApi;
using TrainingService.Api.Jobs;
using TrainingService.Contracts;

namespace TrainingService.Api.Metrics;

/// <summary><c>GET /jobs/{id}/metrics</c>: a job's per-epoch records as JSON, CSV, or a live event stream.</summary>
public static class MetricsEndpoints
{
    /// <summary>A page's epochs when <c>limit</c> is not given: a job's most epochs, so one page holds any whole run.</summary>
    public const int DefaultPage = Contracts.Training.Hyperparameters.MaxEpochs;

    /// <summary>The most epochs one answer carries, however long the history: what bounds a request's memory and time.</summary>
    public const int MaxPage = 10_000;

    private enum Format
    {
        Json,
        Csv,
        EventStream,
    }

    public static RouteGroupBuilder MapJobMetrics(this RouteGroupBuilder jobs, JobWatchHub hub, JobsApiOptions options)
    {
        var handlers = new MetricsHandlers(hub, options);
        jobs.MapGet("/{id}/metrics", handlers.GetAsync)
            .WithName("GetJobMetrics")
            .WithSummary("Get a job's per-epoch metrics (JSON, CSV or live stream)")
            .WithDescription("""
                The recorded epochs in order, never downsampled; `sinceEpoch=N` returns only epochs after N, for
                incremental reads. Paged: at most `limit` epochs per answer (1–10000, default 1000, a job's most
                epochs); when more follow, the answer has a `Link: <…?sinceEpoch=N&limit=L>; rel="next"` header
                (N the page's last epoch): follow it until there is none. JSON answers carry an `ETag`: send it back
                in `If-None-Match` to get 304 when nothing changed. The same URL with `Accept: text/csv` gives CSV with
                a header row, paged the same way.

                With `Accept: text/event-stream` it streams Server-Sent Events: first the epochs already recorded
                (`event: epoch`, `id: <epoch>`, data = the record), then each new epoch within about a second of being
                recorded, `event: progress` when the job's progress changes, `: keep-alive` comments every 15 s of
                silence, and finally `event: end` with the job once it has finished, after which the stream closes.
                A reconnecting client's `Last-Event-ID` resumes after that epoch without repeats. An epoch is
                recorded once (a write of it by another attempt is kept in its `conflicts`, never applied), so each
                epoch is sent once; treat epochs as keyed by number.
                """)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .Produces(StatusCodes.Status304NotModified);
        return jobs;
    }

    private sealed class MetricsHandlers(JobWatchHub hub, JobsApiOptions options)
    {
        public async Task<Results<Ok<IReadOnlyList<EpochMetricsResponse>>, MetricsCsvResult, MetricsStreamResult, StatusCodeHttpResult, ValidationProblem, ProblemHttpResult>> GetAsync(
            HttpContext context,
            [ParameterSchema(Description = "The job's id.", Example = "0197a1f2-6c3e-7d4a-9b1e-2f3a4b5c6d7e")] string id,
            [ParameterSchema(Type = "integer", Minimum = 0, Default = "0", Description = "Only epochs after this one.")] string? sinceEpoch,
            [ParameterSchema(Type = "integer", Minimum = 1, Maximum = MaxPage, Default = "1000", Description = "Page size: the most epochs in the answer (JSON and CSV; a stream sends them all).")] string? limit,
            [FromHeader(Name = "Last-Event-ID")]
            [ParameterSchema(Type = "integer", Minimum = 0, Description = "Event streams: the id of the last event received; the stream resumes after that epoch.")]
            string? lastEventId,
            [FromServices] IJobStore store,
            [FromServices] IEpochStore epochStore,
            CancellationToken cancellationToken)
        {
            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            var since = Query.ParseInt("sinceEpoch", sinceEpoch, 0, int.MaxValue, 0, errors);
            var pageSize = Query.ParseInt("limit", limit, 1, MaxPage, DefaultPage, errors);
            var lastEvent = Query.ParseLong("Last-Event-ID", lastEventId?.Trim(), 0, 0, errors);
            if (!JobIds.TryParse(id, out var jobId) || await store.GetAsync(jobId, cancellationToken) is null)
                return Problems.JobNotFound(id);
            if (errors.Count > 0)
                return TypedResults.ValidationProblem(errors);

            var format = Negotiate(context.Request);
            if (format == Format.EventStream)
                return new MetricsStreamResult(jobId, Math.Max(since, lastEvent), hub, options.StreamKeepAliveInterval);

            // One more than the page, to know whether a next page exists without counting the rest.
            var read = await epochStore.GetEpochPageAsync(jobId, since, pageSize + 1, cancellationToken);
            var epochs = read.Count > pageSize ? read.Take(pageSize).ToList() : read;
            // The tag fingerprints which records the answer holds (a record never changes, but
            // conflicts may be added to it), so it changes exactly when the content would, without
            // serialising it first.
            var tag = EntityTags.FromFingerprint(string.Create(CultureInfo.InvariantCulture,
                $"metrics|{format}|{jobId:N}|{since}|{pageSize}|{read.Count > pageSize}|{string.Join(',', epochs.Select(e => $"{e.Metrics.Epoch}:{e.RecordedAt.UtcTicks}:{e.Conflicts.Count}"))}"));
            var headers = context.Response.Headers;
            if (read.Count > pageSize)
                headers.Link = NextLink(context.Request, jobId, epochs[^1].Metrics.Epoch, pageSize);
            headers.ETag = tag.ToString();
            headers.Vary = HeaderNames.Accept;
            // Always revalidate: a running job's metrics grow, and a stale cached copy would hide that.
            headers.CacheControl = "no-cache";
            if (EntityTags.IfNoneMatchHits(context.Request, tag))
                return TypedResults.StatusCode(StatusCodes.Status304NotModified);

            return format == Format.Csv
                ? new MetricsCsvResult(epochs)
                : TypedResults.Ok<IReadOnlyList<EpochMetricsResponse>>([.. epochs.Select(EpochMetricsResponse.From)]);
        }
    }

    /// <summary>
    /// RFC 8288's <c>Link</c> to the next page, relative to this request's path (so it stays right behind a
    /// proxy that mounts the API under a prefix): the same limit, after this page's last epoch.
    /// </summary>
    private static string NextLink(HttpRequest request, Guid jobId, int lastEpoch, int pageSize) =>
        string.Create(CultureInfo.InvariantCulture,
            $"<{request.PathBase}/jobs/{jobId}/metrics?sinceEpoch={lastEpoch}&limit={pageSize}>; rel=\"next\"");

    /// <summary>The representation the client prefers among those offered; JSON when it states no usable preference.</summary>
    private static Format Negotiate(HttpRequest request)
    {
        var accept = request.GetTypedHeaders().Accept;
        foreach (var mediaType in accept.OrderByDescending(m => m.Quality ?? 1.0))
        {
            if (mediaType.Quality == 0)
                continue;
            var name = mediaType.MediaType.Value;
            if (string.Equals(name, ServerSentEventWriter.ContentType, StringComparison.OrdinalIgnoreCase))
                return Format.EventStream;
            if (string.Equals(name, MetricsCsvResult.ContentType, StringComparison.OrdinalIgnoreCase))
                return Format.Csv;
            if (name is "application/json" or "*/*" or "application/*")
                return Format.Json;
        }
        return Format.Json;
    }
}
