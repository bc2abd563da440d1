using System.Globalization;

namespace TrainingService.ServiceBench.Infrastructure;

/// <summary>
/// The API process's own figures from its <c>/metrics</c> scrape (CPU time, garbage collections
/// and their pauses); the difference of two scrapes says what the process spent between them.
/// </summary>
internal sealed record ServerProcessFigures(double CpuSeconds, double GcPauseSeconds, double Gen0, double Gen1, double Gen2)
{
    public static async Task<ServerProcessFigures> ScrapeAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in (await http.GetStringAsync("/metrics", cancellationToken)).Split('\n'))
        {
            var space = line.LastIndexOf(' ');
            if (line.Length == 0 || line[0] == '#' || space < 0)
                continue;
            if (double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                samples[line[..space]] = value;
        }
        double Read(string series) => samples.TryGetValue(series, out var value)
            ? value
            : throw new InvalidOperationException($"The API's /metrics has no {series}.");
        return new ServerProcessFigures(Read("process_cpu_seconds_total"), Read("dotnet_gc_pause_seconds_total"),
            Read("dotnet_collection_count_total{generation=\"0\"}"), Read("dotnet_collection_count_total{generation=\"1\"}"),
            Read("dotnet_collection_count_total{generation=\"2\"}"));
    }

    public static ServerProcessFigures operator -(ServerProcessFigures after, ServerProcessFigures before) =>
        new(after.CpuSeconds - before.CpuSeconds, after.GcPauseSeconds - before.GcPauseSeconds,
            after.Gen0 - before.Gen0, after.Gen1 - before.Gen1, after.Gen2 - before.Gen2);

    public override string ToString() =>
        $"CPU {CpuSeconds * 1000:F0} ms; GC pauses {GcPauseSeconds * 1000:F1} ms (collections: gen0 {Gen0}, gen1 {Gen1}, gen2 {Gen2})";

    public Dictionary<string, object> ToJson() => new()
    {
        ["cpuMs"] = Math.Round(CpuSeconds * 1000, 1),
        ["gcPauseMs"] = Math.Round(GcPauseSeconds * 1000, 2),
        ["gcCollections"] = new[] { Gen0, Gen1, Gen2 },
    };
}
