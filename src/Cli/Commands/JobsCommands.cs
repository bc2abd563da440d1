using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using TrainingService.Client;
using JobExpectations = TrainingService.Contracts.JobExpectations;
using TrainingService.Contracts.Architectures;

namespace TrainingService.Cli.Commands;

/// <summary>
/// <c>trainingservice jobs submit|get|wait|list|cancel</c>: a running service's jobs, through the typed
/// client generated from its OpenAPI document. The service's address comes from <c>--url</c> or
/// <c>$TRAININGSERVICE_URL</c>; its API key from <c>$TRAININGSERVICE_API_KEY</c> only (a flag would
/// show it in the process list and the shell's history).
/// </summary>
internal static class JobsCommands
{
    public const string UrlVariable = "TRAININGSERVICE_URL";
    public const string ApiKeyVariable = "TRAININGSERVICE_API_KEY";

    /// <summary>The longest one request waits; a longer --timeout is several of them.</summary>
    private const int ServerWaitSeconds = 300;

    private static readonly Option<string> Url = new("--url")
    {
        Description = $"the service (default ${UrlVariable} or http://localhost:8080)",
        Recursive = true,
    };

    private static readonly Option<int> Timeout = new("--timeout")
    {
        Description = "seconds to wait for the job to end (with --wait); exit 4 when it has not",
        DefaultValueFactory = _ => 3600,
    };

    public static Command Create()
    {
        var jobs = new Command("jobs", $"A running service's jobs (the API key, when it needs one, from ${ApiKeyVariable}).")
        {
            Url, Submit(), Get(), Wait(), List(), Cancel(),
        };
        return jobs;
    }

    private static Command Submit()
    {
        var architecture = new Option<string>("--architecture") { Description = "convnet, resnet18 or attention", Required = true };
        architecture.AcceptOnlyFromAmong([.. ArchitectureCatalog.All.Select(a => a.Name)]);
        var dataset = new Option<string>("--dataset") { Description = "mnist (default), fashion-mnist, or an uploaded dataset's id (the service checks it)" };
        var name = new Option<string>("--name") { Description = "a label for people" };
        var tags = new Option<string[]>("--tag") { Description = "a tag to filter by (repeatable)", AllowMultipleArgumentsPerToken = false };
        var expect = new Option<string[]>("--expect")
        {
            Description = "a condition on a final figure, e.g. testAccuracy>=0.99 or wallSeconds<=600 (repeatable; figures: "
                + string.Join(", ", JobExpectations.Figures.Keys) + ")",
        };
        var wait = new Option<bool>("--wait") { Description = "wait for the job to end; the exit code says how it ended" };
        var idempotencyKey = new Option<string>("--idempotency-key") { Description = "a retried submission with the same key returns the same job" };
        var hyperparameters = new HyperparameterOptions();

        var command = new Command("submit", "Submit a training job; prints its id (with --wait, follows it to the end).")
        {
            architecture, dataset, name, tags, expect, wait, Timeout, idempotencyKey,
        };
        foreach (var option in hyperparameters.All) command.Options.Add(option);
        command.SetAction((parse, ct) => WithClientAsync(parse, async client =>
        {
            var request = new CreateJobRequest
            {
                Kind = "train",
                Architecture = parse.GetRequiredValue(architecture),
                Dataset = parse.GetValue(dataset),
                Name = parse.GetValue(name),
                Tags = parse.GetValue(tags),
                Hyperparameters = ToClientHyperparameters(hyperparameters, parse),
                Expect = ParseExpectations(parse.GetValue(expect) ?? []),
            };
            var job = await client.CreateJobAsync(request, parse.GetValue(idempotencyKey), ct);
            Console.WriteLine(job.Id);
            Console.Error.WriteLine($"job {job.Id}: {Describe(job.Status)} ({job.Architecture} on {job.Dataset}, {job.Hyperparameters.Epochs} epochs)");
            return parse.GetValue(wait) ? await FollowAsync(client, job.Id, parse.GetValue(Timeout), ct) : ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command Get()
    {
        var id = new Argument<Guid>("id") { Description = "the job's id" };
        var command = new Command("get", "Print the job as JSON.") { id };
        command.SetAction((parse, ct) => WithClientAsync(parse, async client =>
        {
            Console.WriteLine(JsonSerializer.Serialize(await client.GetJobAsync(parse.GetRequiredValue(id).ToString(), null, ct), Indented));
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command Wait()
    {
        var id = new Argument<Guid>("id") { Description = "the job's id" };
        var command = new Command("wait", "Wait for the job to end; the exit code says how it ended.") { id, Timeout };
        command.SetAction((parse, ct) => WithClientAsync(parse, client => FollowAsync(client, parse.GetRequiredValue(id), parse.GetValue(Timeout), ct), ct));
        return command;
    }

    private static Command List()
    {
        var tag = new Option<string>("--tag") { Description = "only jobs with this tag" };
        var limit = new Option<int>("--limit") { Description = "at most this many (1-200)", DefaultValueFactory = _ => 20 };
        var command = new Command("list", "List jobs, newest first: id, status, architecture, name.") { tag, limit };
        command.SetAction((parse, ct) => WithClientAsync(parse, async client =>
        {
            var page = await client.ListJobsAsync(tag: parse.GetValue(tag), limit: parse.GetValue(limit), cancellationToken: ct);
            foreach (var job in page.Items)
                Console.WriteLine($"{job.Id}  {Describe(job.Status),-11}  {job.Architecture,-10}  {job.Name}");
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static Command Cancel()
    {
        var id = new Argument<Guid>("id") { Description = "the job's id" };
        var command = new Command("cancel", "Cancel a job: a queued one never starts, a running one stops at its next step.") { id };
        command.SetAction((parse, ct) => WithClientAsync(parse, async client =>
        {
            var job = await client.CancelJobAsync(parse.GetRequiredValue(id).ToString(), ct);
            Console.Error.WriteLine($"job {job.Id}: {Describe(job.Status)}");
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    /// <summary>Waits (long polls of at most 300 s) until the job ends or <paramref name="timeoutSeconds"/> pass; returns the exit code for how it ended.</summary>
    private static async Task<int> FollowAsync(ITrainingServiceClient client, Guid id, int timeoutSeconds, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(timeoutSeconds);
        while (true)
        {
            var left = (int)Math.Ceiling((deadline - DateTimeOffset.UtcNow).TotalSeconds);
            var job = await client.GetJobAsync(id.ToString(), Math.Clamp(left, 0, ServerWaitSeconds), cancellationToken);
            if (job.Status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled)
                return Report(job);
            if (left <= 0)
            {
                var at = job.Progress is { } p ? $", epoch {p.Epoch}/{p.Epochs} ({p.Fraction:P0})" : "";
                Console.Error.WriteLine($"job {job.Id}: still {Describe(job.Status)}{at} after {timeoutSeconds} s");
                return ExitCodes.WaitTimedOut;
            }
        }
    }

    /// <summary>Says how the job ended, each expectation with its value, and returns the matching exit code.</summary>
    private static int Report(JobResponse job)
    {
        var reason = job.TerminationReason ?? Describe(job.Status);
        Console.Error.WriteLine($"job {job.Id}: {Describe(job.Status)} ({reason})" +
            (job.Result is { } result ? string.Create(CultureInfo.InvariantCulture, $", test accuracy {result.FinalTestAccuracy:P2}") : "") +
            (job.Error is { } error ? $": {error.Message}" : ""));
        if (job.Status != JobStatus.Succeeded)
            return ExitCodes.JobFailed;
        foreach (var outcome in job.Result!.Expectations)
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {(outcome.Held == true ? "held  " : "MISSED")} {JobExpectations.Describe(outcome.Figure!, new Contracts.ExpectationBound(outcome.Min, outcome.Max))} (value {outcome.Value?.ToString("G6", CultureInfo.InvariantCulture) ?? "none"})"));
        return job.Result.Passed ? ExitCodes.Ok : ExitCodes.ExpectationsMissed;
    }

    /// <summary><c>testAccuracy&gt;=0.99</c>, <c>wallSeconds&lt;=600</c>: a figure's min or max; two for one figure make a range.</summary>
    public static IDictionary<string, Client.ExpectationBound>? ParseExpectations(IReadOnlyList<string> expressions)
    {
        var bounds = new Dictionary<string, Client.ExpectationBound>(StringComparer.Ordinal);
        foreach (var expression in expressions)
        {
            var (op, at) = expression.IndexOf(">=", StringComparison.Ordinal) is var ge and > 0 ? (">=", ge) : expression.IndexOf("<=", StringComparison.Ordinal) is var le and > 0 ? ("<=", le) : ("", -1);
            var figure = at > 0 ? expression[..at].Trim() : "";
            if (at < 0 || !double.TryParse(expression[(at + 2)..].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
                throw new UsageException($"--expect: '{expression}' is not FIGURE>=NUMBER or FIGURE<=NUMBER.");
            if (!JobExpectations.Figures.ContainsKey(figure))
                throw new UsageException($"--expect: '{figure}' is not a figure; the figures are: {string.Join(", ", JobExpectations.Figures.Keys)}.");
            var bound = bounds.TryGetValue(figure, out var existing) ? existing : new Client.ExpectationBound();
            if (op == ">=") bound.Min = value; else bound.Max = value;
            bounds[figure] = bound;
        }
        return bounds.Count == 0 ? null : bounds;
    }

    /// <summary>The options given, checked here by the service's own rules, as the client's type.</summary>
    private static Client.Hyperparameters? ToClientHyperparameters(HyperparameterOptions options, ParseResult parse)
    {
        var given = options.Given(parse);
        if (given.Count == 0)
            return null;
        options.Apply(new Contracts.Training.Hyperparameters(), parse); // throws, naming the option, on a bad value
        return given.Deserialize<Client.Hyperparameters>();
    }

    private static async Task<int> WithClientAsync(ParseResult parse, Func<ITrainingServiceClient, Task<int>> command, CancellationToken cancellationToken)
    {
        var url = parse.GetValue(Url) ?? (Environment.GetEnvironmentVariable(UrlVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : "http://localhost:8080");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var baseAddress) || baseAddress.Scheme is not ("http" or "https"))
            throw new UsageException($"--url: '{url}' is not an http(s) address.");
        // A long poll is held up to 300 s by the server: the client must outwait it.
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(ServerWaitSeconds + 60) };
        if (Environment.GetEnvironmentVariable(ApiKeyVariable) is { Length: > 0 } key)
            http.DefaultRequestHeaders.Add("X-Api-Key", key);
        try
        {
            // Error bodies (problem details) are read as text too, to show the service's own words.
            return await command(new TrainingServiceClient(http) { ReadResponseAsString = true });
        }
        catch (ApiException e)
        {
            Console.Error.WriteLine($"error: the service answered {e.StatusCode}: {ProblemText(e.Response)}");
            return ExitCodes.ServiceError;
        }
        catch (HttpRequestException e)
        {
            Console.Error.WriteLine($"error: cannot reach the service at {baseAddress}: {e.Message}");
            return ExitCodes.ServiceError;
        }
    }

    /// <summary>A problem details body as one line: its detail or title, and each field's errors (hyperparameters named as options).</summary>
    private static string ProblemText(string? body)
    {
        try
        {
            using var problem = JsonDocument.Parse(body ?? "");
            var root = problem.RootElement;
            var text = root.TryGetProperty("detail", out var detail) ? detail.GetString() : root.TryGetProperty("title", out var title) ? title.GetString() : body;
            if (root.TryGetProperty("errors", out var errors))
                text += " " + string.Join("; ", errors.EnumerateObject().Select(e =>
                    $"{(e.Name.StartsWith("hyperparameters.", StringComparison.Ordinal) ? "--" + HyperparameterOptions.Kebab(e.Name["hyperparameters.".Length..]) : e.Name)}: {string.Join(" ", e.Value.EnumerateArray().Select(m => m.GetString()))}"));
            return text ?? "";
        }
        catch (JsonException)
        {
            return body ?? "";
        }
    }

    private static string Describe(JobStatus status) => Name(status);

    /// <summary>An enum by its wire name (<c>worker-lost</c>), as the service spells it.</summary>
    private static string Name<T>(T value) where T : struct, Enum => JsonSerializer.Serialize(value, EnumNames).Trim('"');

    private static readonly JsonSerializerOptions EnumNames = new() { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    private static readonly JsonSerializerOptions Indented = new(EnumNames) { WriteIndented = true };
}
