using System.Globalization;

namespace TrainingService.ServiceBench;

/// <summary>
/// What to run and how big. <c>--quick</c> shrinks every scenario to a smoke test that proves the
/// measurement works (it is not a measurement); the full sizes are the ones the targets refer to.
/// </summary>
internal sealed record BenchOptions
{
    public const string PostLatency = "post-latency";
    public const string MetricsLatency = "metrics-latency";
    public const string SseFanout = "sse-fanout";
    public const string Overhead = "overhead";
    public const string Scale = "scale";
    public const string ScaleStore = "scale-store";

    /// <summary>What runs when no <c>--scenarios</c> is given: the scale scenarios take many minutes, so they run only when named.</summary>
    public static readonly string[] DefaultScenarios = [PostLatency, MetricsLatency, SseFanout, Overhead];

    /// <summary>Every scenario, in the order they run: those on the shared queue-only API, the scale ones, then the overhead one last.</summary>
    public static readonly string[] AllScenarios = [PostLatency, MetricsLatency, SseFanout, ScaleStore, Scale, Overhead];

    public IReadOnlyList<string> Scenarios { get; init; } = DefaultScenarios;
    public bool Quick { get; init; }
    public string DataDirectory { get; init; } = Path.Combine("..", "shared", "mnist");
    /// <summary>Rounds of the overhead scenario (engine, embedded, PostgreSQL); the medians over rounds are compared.</summary>
    public int Repeat { get; init; } = 1;
    /// <summary>Overhead: settings (KEY=VALUE) for a second pair of service runs in every round, interleaved with the defaults: before and after in one run.</summary>
    public IReadOnlyDictionary<string, string> OverheadVariant { get; init; } = new Dictionary<string, string>();

    public int PostRequests => Quick ? 50 : 200;
    /// <summary>Untimed bursts before the warm ones: enough for the JIT to optimise the submission path.</summary>
    public int PostWarmUpBursts => Quick ? 1 : 15;
    public int PostWarmBursts => Quick ? 1 : 3;
    public int MetricsRequests => Quick ? 200 : 2000;
    public int MetricsEpochs => 100;
    public int SseClients => Quick ? 10 : 100;
    public int SseEpochs => Quick ? 5 : 20;
    public TimeSpan SseEpochInterval => TimeSpan.FromMilliseconds(200);
    /// <summary>The timed overhead job's training images: all 60,000 (null), or a slice for a smoke run.</summary>
    public int? OverheadTrainSubset => Quick ? 2048 : null;

    /// <summary>Scale: jobs per layout (1, 2, 4 workers), submitted in bursts of <see cref="ScaleBurst"/>.</summary>
    public int ScaleJobs => ScaleJobsGiven ?? (Quick ? 4 : 24);
    public int? ScaleJobsGiven { get; init; }
    public int ScaleBurst => Quick ? 2 : 8;
    public TimeSpan ScaleBurstGap => TimeSpan.FromSeconds(Quick ? 0.2 : 2);
    /// <summary>Scale: single jobs timed on an idle layout before and after its LISTEN connections are killed.</summary>
    public int ScaleProbes => Quick ? 1 : 5;
    /// <summary>Scale-store: jobs and epoch records generated in PostgreSQL before the reads are timed.</summary>
    public int StoreJobs => Quick ? 1_000 : 10_000;
    public int StoreEpochsPerJob => 100;
    public int StoreRequests => Quick ? 100 : 1_000;

    public const string Usage =
        "Options: --scenarios post-latency,metrics-latency,sse-fanout,overhead,scale,scale-store (default the first four) --jobs N (scale: jobs per layout, default 24) --variant KEY=VALUE[,…] (overhead: a second pair of service runs per round with these settings) --quick --data DIR (default ../shared/mnist) --repeat N (overhead: rounds of the three modes, default 1)";

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value. {Usage}");
            options = args[i] switch
            {
                "--quick" => options with { Quick = true },
                "--data" => options with { DataDirectory = Value() },
                "--scenarios" => options with { Scenarios = ParseScenarios(Value()) },
                "--repeat" => options with { Repeat = ParseRepeat(Value()) },
                "--jobs" => options with { ScaleJobsGiven = ParseJobs(Value()) },
                "--variant" => options with { OverheadVariant = ParseVariant(Value()) },
                "--help" or "-h" => throw new ArgumentException(Usage),
                _ => throw new ArgumentException($"Unknown option '{args[i]}'. {Usage}"),
            };
        }
        return options with { DataDirectory = Path.GetFullPath(options.DataDirectory) };
    }

    private static string[] ParseScenarios(string value)
    {
        var names = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var name in names)
        {
            if (!AllScenarios.Contains(name, StringComparer.Ordinal))
                throw new ArgumentException($"Unknown scenario '{name}'; expected some of: {string.Join(",", AllScenarios)}.");
        }
        if (names.Length == 0)
            throw new ArgumentException($"--scenarios needs at least one of: {string.Join(",", AllScenarios)}.");
        // Always in the documented order, whatever order they were named in: the overhead
        // scenario must run last, after the latency scenarios' service has been stopped.
        return [.. AllScenarios.Where(names.Contains)];
    }

    private static Dictionary<string, string> ParseVariant(string value)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = pair.IndexOf('=');
            if (equals <= 0)
                throw new ArgumentException($"--variant takes KEY=VALUE[,KEY=VALUE]; got '{pair}'.");
            settings[pair[..equals]] = pair[(equals + 1)..];
        }
        return settings;
    }

    private static int ParseJobs(string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 5000
            ? n
            : throw new ArgumentException($"--jobs must be a whole number from 1 to 5000; got '{value}'.");

    private static int ParseRepeat(string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 20
            ? n
            : throw new ArgumentException($"--repeat must be a whole number from 1 to 20; got '{value}'.");
}
