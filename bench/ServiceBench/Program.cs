using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using TrainingService.ServiceBench;
using TrainingService.ServiceBench.Infrastructure;
using TrainingService.ServiceBench.Scenarios;

// Starts the real service as separate processes (the API, and a worker where the layout has one)
// on 127.0.0.1 and measures it from outside, as clients see it: submission latency under a burst,
// metrics read latency, live-stream fan-out, and what running a job through the service costs over
// the engine alone. Prints what it does, then one JSON object per scenario as the last lines.
//
//   dotnet run -c Release --project bench/ServiceBench -- [--quick] [--data DIR]
//       [--scenarios post-latency,metrics-latency,sse-fanout,overhead,scale,scale-store] [--repeat N] [--jobs N]
//
// PostgreSQL: the server TRAININGSERVICE_TEST_POSTGRES names, else one started by scripts/postgres.sh
// for the run. The latency scenarios share one fresh database and the overhead scenario has
// another; both are dropped at the end.

// The overhead scenario's baseline runs in a process of its own, as the services do.
if (args is [OverheadEngineRun.Argument, var engineData, var engineSubset])
    return OverheadEngineRun.RunInThisProcess(engineData, engineSubset);

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

using var cancel = new CancellationTokenSource();
// Ctrl+C or a SIGTERM unwinds through the finally blocks, which kill the service processes, drop
// the databases and stop a PostgreSQL server started here, rather than ending the benchmark with
// all of those left behind.
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    cancel.Cancel();
}
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
AppDomain.CurrentDomain.ProcessExit += (_, _) => ServiceProcess.KillAllStarted();
var cancellationToken = cancel.Token;

Console.WriteLine($"TrainingService service benchmark: {(options.Quick ? "quick (smoke sizes, not a measurement)" : "full")} run of {string.Join(", ", options.Scenarios)}");
Console.WriteLine($"service build {RepositoryPaths.Configuration} ({RepositoryPaths.ApiDll}), {Environment.ProcessorCount} cores, data {options.DataDirectory}");
if (!string.Equals(RepositoryPaths.Configuration, "Release", StringComparison.Ordinal))
    Console.WriteLine($"warning: this is a {RepositoryPaths.Configuration} build; run with -c Release for figures that mean something");

var results = new List<Dictionary<string, object?>>();
try
{
    await using var server = await PostgresServer.StartOrUseAsync(cancellationToken);
    Console.WriteLine($"PostgreSQL {server.Describe()}");

    // The scenarios that share the queue-only API (the store scenario last: it fills that store).
    var latencyScenarios = options.Scenarios.Where(s => s is not (BenchOptions.Overhead or BenchOptions.Scale)).ToList();
    if (latencyScenarios.Count > 0)
    {
        QueueOnlyService? service = null;
        try
        {
            service = await QueueOnlyService.StartAsync(server, cancellationToken);
            Console.WriteLine($"API on {service.BaseAddress} (PostgreSQL database of its own, worker disabled)");
            foreach (var scenario in latencyScenarios)
            {
                Console.WriteLine();
                results.Add(await RunScenarioAsync(scenario, () => scenario switch
                {
                    BenchOptions.PostLatency => PostLatencyScenario.RunAsync(service, options, cancellationToken),
                    BenchOptions.MetricsLatency => MetricsLatencyScenario.RunAsync(service, options, cancellationToken),
                    BenchOptions.SseFanout => SseFanoutScenario.RunAsync(service, options, cancellationToken),
                    BenchOptions.ScaleStore => ScaleStoreScenario.RunAsync(service, options, cancellationToken),
                    _ => throw new UnreachableException(scenario),
                }, service.Api));
            }
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && service is null)
        {
            Console.WriteLine($"error: the API did not start: {e.Message}");
            results.AddRange(latencyScenarios.Select(s => Failed(s, e)));
        }
        finally
        {
            // Stopped before the overhead scenario: an idle API still costs the timed jobs CPU.
            if (service is not null)
                await service.DisposeAsync();
        }
    }

    if (options.Scenarios.Contains(BenchOptions.Scale))
    {
        Console.WriteLine();
        results.Add(await RunScenarioAsync(BenchOptions.Scale, () => ScaleScenario.RunAsync(server, options, cancellationToken), null));
    }

    if (options.Scenarios.Contains(BenchOptions.Overhead))
    {
        Console.WriteLine();
        results.Add(await RunScenarioAsync(BenchOptions.Overhead, () => OverheadScenario.RunAsync(server, options, cancellationToken), null));
    }
}
catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
{
    Console.WriteLine("cancelled");
    return 130;
}
catch (Exception e)
{
    Console.WriteLine($"error: {e.Message}");
    return 1;
}
finally
{
    ServiceProcess.KillAllStarted();
}

// The machine-readable part: one object per scenario, the last lines of the output.
Console.WriteLine();
var json = new JsonSerializerOptions { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
foreach (var result in results)
    Console.WriteLine(JsonSerializer.Serialize(result, json));
return results.All(r => r.GetValueOrDefault("ok") is true) ? 0 : 1;

// A scenario that fails is reported (with the API's last output lines, which usually say why) and
// the others still run; cancellation is not a failure to report but a reason to stop.
async Task<Dictionary<string, object?>> RunScenarioAsync(string name, Func<Task<Dictionary<string, object?>>> run, ServiceProcess? api)
{
    try
    {
        return await run();
    }
    catch (Exception e) when (!cancellationToken.IsCancellationRequested)
    {
        Console.WriteLine($"   error: {e.Message}");
        if (api is not null)
            Console.WriteLine($"   {api.Name}, last lines:\n{api.Tail}");
        return Failed(name, e);
    }
}

static Dictionary<string, object?> Failed(string scenario, Exception e) =>
    new() { ["scenario"] = scenario, ["ok"] = false, ["error"] = $"{e.GetType().Name}: {e.Message}" };
