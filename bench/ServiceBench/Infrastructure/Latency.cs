using System.Diagnostics;

namespace TrainingService.ServiceBench.Infrastructure;

/// <summary>Latencies in milliseconds and their summary (nearest-rank percentiles: each one is a latency that was measured).</summary>
internal sealed record LatencySummary(int Count, double P50, double P90, double P99, double Max, double Mean)
{
    public static LatencySummary Of(IReadOnlyCollection<double> milliseconds)
    {
        if (milliseconds.Count == 0)
            return new LatencySummary(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        var sorted = milliseconds.Order().ToArray();
        double Percentile(double p) => sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new LatencySummary(sorted.Length, Percentile(50), Percentile(90), Percentile(99), sorted[^1], sorted.Average());
    }

    public static double Milliseconds(long fromTimestamp, long toTimestamp) =>
        Stopwatch.GetElapsedTime(fromTimestamp, toTimestamp).TotalMilliseconds;

    public override string ToString() =>
        $"p50 {P50,7:F1} ms  p90 {P90,7:F1} ms  p99 {P99,7:F1} ms  max {Max,7:F1} ms  mean {Mean,7:F1} ms  (n = {Count})";

    /// <summary>For the JSON line: rounded to 0.01 ms.</summary>
    public Dictionary<string, object> ToJson() => new()
    {
        ["count"] = Count,
        ["p50Ms"] = Math.Round(P50, 2),
        ["p90Ms"] = Math.Round(P90, 2),
        ["p99Ms"] = Math.Round(P99, 2),
        ["maxMs"] = Math.Round(Max, 2),
        ["meanMs"] = Math.Round(Mean, 2),
    };
}
