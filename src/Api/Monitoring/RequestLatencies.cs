using System.Collections.Concurrent;
using System.Diagnostics;

namespace TrainingService.Api.Monitoring;

/// <summary>
/// A Prometheus histogram of request durations, one series per (method, route template, status
/// code). The route is the endpoint's template (<c>/jobs/{id}</c>), never the raw path, so job ids
/// do not multiply the series; requests no endpoint matched share the route <c>unmatched</c>.
/// </summary>
public sealed class RequestLatencies
{
    /// <summary>Upper bounds in seconds: Prometheus's client defaults, which span a cached GET to a slow submission.</summary>
    public static IReadOnlyList<double> Buckets { get; } = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly ConcurrentDictionary<(string Method, string Route, int Status), Series> series = new();

    public void Record(string method, string route, int status, TimeSpan duration) =>
        series.GetOrAdd((method, route, status), _ => new Series()).Add(duration.TotalSeconds);

    /// <summary>A consistent copy of every series, ordered for stable output.</summary>
    public IReadOnlyList<SeriesSnapshot> Snapshot() =>
        [.. series.OrderBy(s => s.Key.Route, StringComparer.Ordinal).ThenBy(s => s.Key.Method, StringComparer.Ordinal).ThenBy(s => s.Key.Status)
            .Select(s => s.Value.Snapshot(s.Key.Method, s.Key.Route, s.Key.Status))];

    public sealed record SeriesSnapshot(string Method, string Route, int Status, long[] CumulativeCounts, long Count, double Sum);

    private sealed class Series
    {
        private readonly long[] counts = new long[Buckets.Count];
        private long count;
        private double sum;

        public void Add(double seconds)
        {
            lock (this)
            {
                for (var i = 0; i < Buckets.Count; i++)
                {
                    if (seconds <= Buckets[i])
                    {
                        counts[i]++;
                        break;
                    }
                }
                count++;
                sum += seconds;
            }
        }

        public SeriesSnapshot Snapshot(string method, string route, int status)
        {
            lock (this)
            {
                var cumulative = new long[counts.Length];
                long running = 0;
                for (var i = 0; i < counts.Length; i++)
                    cumulative[i] = running += counts[i];
                return new SeriesSnapshot(method, route, status, cumulative, count, sum);
            }
        }
    }
}

/// <summary>Times every request into <see cref="RequestLatencies"/>.</summary>
public sealed class RequestLatencyMiddleware(RequestDelegate next, RequestLatencies latencies)
{
    public async Task InvokeAsync(HttpContext context)
    {
        // WebApplication routes before the first middleware, so the endpoint is known here; it is
        // read now because the exception handler clears it before writing its 500. This
        // middleware goes outside the error handler, so the status read afterwards is the final one.
        var endpoint = context.GetEndpoint() as RouteEndpoint;
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var route = (endpoint ?? context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            latencies.Record(context.Request.Method, route, context.Response.StatusCode, Stopwatch.GetElapsedTime(started));
        }
    }
}
